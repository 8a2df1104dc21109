# Throughput and p99 latency against concurrency, with the raw HSM rate as a
# line. Called by run.sh with -e "datafile=...; outfile=...; keyname=...; raw=...; secs=...".
# datafile columns: concurrency, issued/s, p99 ms.
set terminal pngcairo size 960,600 font "sans,11"
set output outfile
set title sprintf("signerd end to end, %s CA key (%d s per step)", keyname, secs)
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
plot datafile using 1:2 with linespoints ls 1 title "issued / s", \
     raw with lines ls 3 title sprintf("raw HSM signs / s (%.0f)", raw), \
     datafile using 1:3 axes x1y2 with linespoints ls 2 title "p99 latency (ms)"
