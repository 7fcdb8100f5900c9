# plot_rss.awk -- owns the SVG chart of the phase-change benchmark
# (bench/phase.c): RSS in MiB against time, one line per allocator.
# POSIX awk (mawk, gawk --posix, busybox), no other tool.
#
#   awk -f bench/plot_rss.awk [-v title=TEXT] [-v subtitle=TEXT] \
#       phase_rss.csv > phase_rss.svg
#
# Input: CSV rows "allocator,ms,phase,rss_mib" (a header line starting
# with "allocator," is skipped), each allocator's rows in time order, phase
# one of grow, shrink, idle. Allocators keep the order of their first row.
#
# Steps:
#   1. read every row; per allocator note the first row of each phase;
#   2. put t = 0 at each allocator's first "shrink" row (the drop), so the
#      shrink and idle phases, which last the same time for every
#      allocator, line up, and each grow phase ends at t = 0;
#   3. shade the phases: grow from the earliest start to 0, shrink from 0
#      to the latest idle start, idle from there to the latest end;
#   4. axes with "nice" ticks (1, 2 or 5 times a power of ten), grid lines,
#      one polyline per allocator, the legend to the right of the plot.
BEGIN {
	FS = ","
	W = 900; H = 480                 # the whole image
	L = 70; R = 150; T = 72; B = 56  # margins around the plot area
	PW = W - L - R; PH = H - T - B
	ncolors = split("#d62728,#1f77b4,#2ca02c,#9467bd,#ff7f0e,#8c564b," \
		"#e377c2,#17becf", color, ",")
	if (title == "")
		title = "RSS over a phase change"
	nalloc = 0
}

/^allocator,/ { next }
NF < 4 { next }

{
	a = $1
	if (!(a in count)) {
		order[++nalloc] = a
		count[a] = 0
	}
	k = ++count[a]
	ms[a, k] = $2 + 0
	rss[a, k] = $4 + 0
	if (!((a, $3) in first))
		first[a, $3] = $2 + 0
}

function nice_step(range, n,    raw, mag, f) {
	if (range <= 0)
		return 1
	raw = range / n
	mag = exp(log(10) * floor_(log(raw) / log(10) + 1e-9))
	f = raw / mag
	if (f <= 1) return mag
	if (f <= 2) return 2 * mag
	if (f <= 5) return 5 * mag
	return 10 * mag
}

function floor_(v) { return v == int(v) || v >= 0 ? int(v) : int(v) - 1 }
function px(v) { return L + (v - xmin) / (xmax - xmin) * PW }
function py(v) { return T + PH - (v - ymin) / (ymax - ymin) * PH }

function esc(s) {
	gsub(/&/, "\\&amp;", s)
	gsub(/</, "\\&lt;", s)
	gsub(/>/, "\\&gt;", s)
	return s
}

function text(tx, ty, s, extra) {
	printf "<text x=\"%.1f\" y=\"%.1f\"%s>%s</text>\n", tx, ty,
		extra == "" ? "" : " " extra, esc(s)
}

function band(x0, x1, fill, label) {
	if (x1 <= x0)
		return
	printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" " \
		"fill=\"%s\"/>\n", px(x0), T, px(x1) - px(x0), PH, fill
	text((px(x0) + px(x1)) / 2, T - 7, label,
		"text-anchor=\"middle\" fill=\"#555\" font-style=\"italic\"")
}

END {
	if (nalloc == 0) {
		print "plot_rss.awk: no data rows" > "/dev/stderr"
		exit 1
	}
	# 2. the time axis: seconds since each allocator's drop
	xmin = 0; xmax = 0; idle0 = 0; ymax = 0
	for (i = 1; i <= nalloc; i++) {
		a = order[i]
		zero[a] = ((a, "shrink") in first) ? first[a, "shrink"] : ms[a, 1]
		x = (ms[a, 1] - zero[a]) / 1000
		if (x < xmin) xmin = x
		x = (ms[a, count[a]] - zero[a]) / 1000
		if (x > xmax) xmax = x
		if ((a, "idle") in first) {
			x = (first[a, "idle"] - zero[a]) / 1000
			if (x > idle0) idle0 = x
		}
		for (k = 1; k <= count[a]; k++)
			if (rss[a, k] > ymax) ymax = rss[a, k]
	}
	if (xmax <= xmin) xmax = xmin + 1
	xstep = nice_step(xmax - xmin, 12)
	xmin = floor_(xmin / xstep) * xstep
	ystep = nice_step(ymax, 8)
	ymin = 0
	ymax = (floor_(ymax / ystep) + 1) * ystep

	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" " \
		"height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" " \
		"font-size=\"12\">\n", W, H, W, H
	printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H
	text(L, 22, title, "font-size=\"16\" font-weight=\"bold\"")
	if (subtitle != "")
		text(L, 40, subtitle, "fill=\"#555\"")

	# 3. the phases
	band(xmin, 0, "#e8eef8", "grow")
	band(0, idle0 > 0 ? idle0 : xmax, "#fbeede", "shrink")
	if (idle0 > 0)
		band(idle0, xmax, "#e9f5e9", "idle")

	# 4. grid, ticks and labels
	for (y = ymin; y <= ymax + ystep / 2; y += ystep) {
		printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" " \
			"stroke=\"#ccc\" stroke-width=\"0.6\"/>\n", L, py(y),
			L + PW, py(y)
		text(L - 8, py(y) + 4, sprintf("%g", y), "text-anchor=\"end\"")
	}
	for (x = xmin; x <= xmax + xstep / 1000; x += xstep) {
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" " \
			"stroke=\"#333\"/>\n", px(x), T + PH, px(x), T + PH + 5
		text(px(x), T + PH + 19, sprintf("%g", x + 0),
			"text-anchor=\"middle\"")
	}
	printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" " \
		"fill=\"none\" stroke=\"#333\"/>\n", L, T, PW, PH
	text(L + PW / 2, H - 12,
		"seconds since the drop (t = 0: 95 % of the live heap dropped)",
		"text-anchor=\"middle\"")
	printf "<text transform=\"translate(18 %.1f) rotate(-90)\" " \
		"text-anchor=\"middle\">RSS (MiB)</text>\n", T + PH / 2

	# the lines and the legend
	for (i = 1; i <= nalloc; i++) {
		a = order[i]
		c = color[(i - 1) % ncolors + 1]
		printf "<polyline fill=\"none\" stroke=\"%s\" " \
			"stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", c
		for (k = 1; k <= count[a]; k++)
			printf "%s%.1f,%.1f", (k > 1 ? " " : ""),
				px((ms[a, k] - zero[a]) / 1000), py(rss[a, k])
		print "\"/>"
		ly = T + 10 + 22 * i
		printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" " \
			"stroke=\"%s\" stroke-width=\"3\"/>\n", L + PW + 14, ly,
			L + PW + 40, ly, c
		text(L + PW + 46, ly + 4, a, "")
	}
	print "</svg>"
}
