# Throughput and p99 latency against concurrency, with the raw HSM rate as a
# line, and with a peer (run.sh's BENCH_PEER) the peer's throughput and p99.
# Called by run.sh with -e "datafile=...; outfile=...; keyname=...; raw=...; secs=...; peer=...".
# datafile columns: concurrency, issued/s, p99 ms, and with a peer its issued/s and p99 ms.
if (!exists("peer")) peer = ""
set terminal pngcairo size 960,600 font "sans,11"
set output outfile
if (strlen(peer) > 0) {
	set title sprintf("signerd and %s serve end to end, %s CA key (%d s per step, same run)", peer, keyname, secs)
} else {
	set title sprintf("signerd end to end, %s CA key (%d s per step)", keyname, secs)
}
set logscale x 2
set xlabel "concurrent clients (keep-alive mutual TLS)"
set ylabel "certificates / s"
set y2label "p99 latency (ms)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid xtics ytics
set offsets 0, 0, graph 0.08, 0
set key below horizontal
set style line 1 lc rgb "#1f77b4" lw 2 pt 7
set style line 2 lc rgb "#d62728" lw 2 pt 5
set style line 3 lc rgb "#2ca02c" lw 2 dt 2
set style line 4 lc rgb "#ff7f0e" lw 2 pt 9
set style line 5 lc rgb "#9467bd" lw 2 pt 13 dt 3
if (strlen(peer) > 0) {
	# A raw HSM rate far above both servers would flatten the two curves being compared:
	# then it is named in the key only.
	stats datafile using 2 nooutput
	top = STATS_max
	stats datafile using 4 nooutput
	top = STATS_max > top ? STATS_max : top
	rawline = raw <= 2 * top ? raw : NaN
	plot datafile using 1:2 with linespoints ls 1 title "signerd issued / s", \
	     datafile using 1:4 with linespoints ls 4 title sprintf("%s issued / s", peer), \
	     rawline with lines ls 3 title sprintf("raw HSM signs / s (%.0f%s)", raw, raw <= 2 * top ? "" : ", off scale"), \
	     datafile using 1:3 axes x1y2 with linespoints ls 2 title "signerd p99 (ms)", \
	     datafile using 1:5 axes x1y2 with linespoints ls 5 title sprintf("%s p99 (ms)", peer)
} else {
	plot datafile using 1:2 with linespoints ls 1 title "issued / s", \
	     raw with lines ls 3 title sprintf("raw HSM signs / s (%.0f)", raw), \
	     datafile using 1:3 axes x1y2 with linespoints ls 2 title "p99 latency (ms)"
}
