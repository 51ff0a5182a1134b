# SPDX-License-Identifier: BSD-3-Clause
# Placeholder until the operations work (multi-stage image) lands; not exercised by CI.
FROM debian:12
