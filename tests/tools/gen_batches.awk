# gen_batches.awk — deterministic toy BTCH records as rad-dump --encode reads them.
# awk -v seed=S -v n=N -v pairs=P -v vocab=V [-v T=24] [-v plen=K -v clen=K] [-v sft=1] -f gen_batches.awk
# Each batch: one row per pair, the chosen sequence then the rejected one packed in it;
# with plen/clen the prompt and completion lengths are fixed and each sequence gets a row
# of its own (T = plen + clen); with sft=1 there are chosen sequences only.
# Chosen completions use even token ids, rejected ones odd ids, so a preference is learnable.
function rnd(k) { return int(rand() * k) }
function arr(a, m,   s, i) { s = "["; for (i = 0; i < m; i++) s = s (i ? "," : "") a[i]; return s "]" }
BEGIN {
	srand(seed); if (!T) T = 24; if (plen) T = plen + clen
	print "{\"type\":\"HEAD\",\"kind\":\"batches\",\"version\":1,\"fingerprint\":\"toy\",\"meta\":{}}"
	for (bi = 0; bi < n; bi++) {
		R = (plen && !sft) ? 2 * pairs : pairs; N = R * T; S = 0; row = 0
		for (i = 0; i < N; i++) { tok[i] = 0; tgt[i] = -1; msk[i] = 0; seg[i] = -1; pos[i] = 0 }
		for (p = 0; p < pairs; p++) {
			np = plen ? plen : 3 + rnd(3)
			for (j = 0; j < np; j++) pr[j] = rnd(vocab)
			col = 0
			for (c = 1; c >= (sft ? 1 : 0); c--) {
				if (plen && c == 0) { row++; col = 0 }
				nc = clen ? clen : 2 + rnd(4)
				for (j = 0; j < np; j++) sq[j] = pr[j]
				for (j = 0; j < nc; j++) sq[np + j] = 2 * rnd(vocab / 2) + (c ? 0 : 1)
				L = np + nc
				for (j = 0; j < L; j++) {
					at = row * T + col + j
					tok[at] = sq[j]; seg[at] = S; pos[at] = j
					if (j + 1 < L) { tgt[at] = sq[j + 1]; msk[at] = (j + 1 >= np) }
				}
				srow[S] = row; sst[S] = col; sln[S] = L; spr[S] = p; sch[S] = c; S++
				col += L
			}
			row++
			pid[p] = "\"b" bi "p" p "\""; gl[p] = (p % 2 ? "\"goal A\"" : "\"goal B\""); sc[p] = 8; sr[p] = 4
		}
		printf "{\"type\":\"BTCH\",\"rows\":%d,\"cols\":%d,\"tokens\":%s,\"targets\":%s,\"loss_mask\":%s,", R, T, arr(tok, N), arr(tgt, N), arr(msk, N)
		printf "\"segment\":%s,\"position\":%s,\"seq_row\":%s,\"seq_start\":%s,\"seq_len\":%s,", arr(seg, N), arr(pos, N), arr(srow, S), arr(sst, S), arr(sln, S)
		printf "\"seq_pair\":%s,\"seq_chosen\":%s,\"pair_id\":%s,\"goal\":%s,", arr(spr, S), arr(sch, S), arr(pid, pairs), arr(gl, pairs)
		printf "\"score_chosen\":%s,\"score_rejected\":%s}\n", arr(sc, pairs), arr(sr, pairs)
	}
}
