-- SPDX-License-Identifier: BSD-3-Clause
-- Zero-loss throughput search for wg-dpdk (README.md): binary search on the TX
-- rate of TX_PORT until RX_PORT receives every packet sent (within TOLERANCE)
-- for TRIAL_MS. Load a traffic setup first (encrypt-*.pkt or decrypt-*.pkt),
-- then run this script from the pktgen prompt: script scripts/pktgen/zero_loss.lua
-- Decrypt direction: one trial must fit in one pass of the pcap (counters repeat).

local TX_PORT = tonumber(os.getenv("WG_TX_PORT") or "0")   -- 0: encrypt, 1: decrypt
local RX_PORT = tonumber(os.getenv("WG_RX_PORT") or "1")
local TRIAL_MS = tonumber(os.getenv("WG_TRIAL_MS") or "10000")
local TOLERANCE = tonumber(os.getenv("WG_TOLERANCE") or "0")  -- lost/sent accepted
local STEPS = tonumber(os.getenv("WG_STEPS") or "10")
local SETTLE_MS = 2000

local function trial(rate)
	pktgen.stop(TX_PORT)
	pktgen.delay(SETTLE_MS)
	pktgen.clr()
	pktgen.set(TX_PORT, "rate", rate)
	pktgen.start(TX_PORT)
	pktgen.delay(TRIAL_MS)
	pktgen.stop(TX_PORT)
	pktgen.delay(SETTLE_MS)		-- packets still in flight arrive
	local st = pktgen.portStats(TX_PORT .. "," .. RX_PORT, "port")
	local sent = st[TX_PORT].opackets
	local got = st[RX_PORT].ipackets
	local lost = sent > got and sent - got or 0
	printf("rate %6.2f%%: sent %d, received %d, lost %d\n", rate, sent, got, lost)
	return sent > 0 and lost <= sent * TOLERANCE, sent
end

local lo, hi, best, best_pkts = 0.0, 100.0, 0.0, 0
if trial(hi) then
	best, best_pkts = hi, 0
else
	for _ = 1, STEPS do
		local mid = (lo + hi) / 2
		local ok, sent = trial(mid)
		if ok then
			lo, best, best_pkts = mid, mid, sent
		else
			hi = mid
		end
	end
end
printf("zero-loss rate: %.2f%% of port %d line rate (%d packets in %d ms)\n",
	best, TX_PORT, best_pkts, TRIAL_MS)
