# llama_batches.awk — DPO batches of fixed-length pairs as rad-dump --encode reads them.
# awk -v seed=S -v n=BATCHES -v pairs=P -v prompt=LP -v comp=LC -v vocab=V -f llama_batches.awk
# One row per pair: the chosen sequence, then the rejected one (same prompt), packed.
function rnd(k) { return int(rand() * k) }
function arr(a, m,   s, i) { s = "["; for (i = 0; i < m; i++) s = s (i ? "," : "") a[i]; return s "]" }
BEGIN {
	srand(seed); L = prompt + comp; T = 2 * L
	print "{\"type\":\"HEAD\",\"kind\":\"batches\",\"version\":1,\"fingerprint\":\"bench\",\"meta\":{}}"
	for (bi = 0; bi < n; bi++) {
		N = pairs * T; S = 0
		for (p = 0; p < pairs; p++) {
			for (j = 0; j < prompt; j++) pr[j] = rnd(vocab)
			for (c = 1; c >= 0; c--) {
				col = c ? 0 : L
				for (j = 0; j < L; j++) sq[j] = j < prompt ? pr[j] : rnd(vocab)
				for (j = 0; j < L; j++) {
					at = p * T + col + j
					tok[at] = sq[j]; seg[at] = S; pos[at] = j
					tgt[at] = j + 1 < L ? sq[j + 1] : -1; msk[at] = (j + 1 < L && j + 1 >= prompt)
				}
				srow[S] = p; sst[S] = col; sln[S] = L; spr[S] = p; sch[S] = c; S++
			}
			pid[p] = "\"b" bi "p" p "\""; gl[p] = "\"\""; sc[p] = 8; sr[p] = 4
		}
		printf "{\"type\":\"BTCH\",\"rows\":%d,\"cols\":%d,\"tokens\":%s,\"targets\":%s,\"loss_mask\":%s,", pairs, T, arr(tok, N), arr(tgt, N), arr(msk, N)
		printf "\"segment\":%s,\"position\":%s,\"seq_row\":%s,\"seq_start\":%s,\"seq_len\":%s,", arr(seg, N), arr(pos, N), arr(srow, S), arr(sst, S), arr(sln, S)
		printf "\"seq_pair\":%s,\"seq_chosen\":%s,\"pair_id\":%s,\"goal\":%s,", arr(spr, S), arr(sch, S), arr(pid, pairs), arr(gl, pairs)
		printf "\"score_chosen\":%s,\"score_rejected\":%s}\n", arr(sc, pairs), arr(sr, pairs)
	}
}
