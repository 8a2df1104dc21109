/* The front's request counters (api_metrics.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_metrics.h"

/* Statuses the API answers with; anything else is counted as "other". */
static const unsigned api_metrics_statuses[] = {
	200, 400, 401, 403, 404, 405, 408, 411, 413, 415, 429, 500, 501, 503,
};
#define API_METRICS_STATUSES (sizeof(api_metrics_statuses) / sizeof(api_metrics_statuses[0]))

struct api_metrics_route {
	atomic_uint_fast64_t status[API_METRICS_STATUSES + 1];	/* last: other */
	struct sd_histogram duration;
};

struct api_metrics {
	size_t n;			/* api_route_count() + 1: the last is "no route" */
	struct api_metrics_route routes[];
};

int
api_metrics_new(struct api_metrics **out)
{
	struct api_metrics *m;
	size_t n = api_route_count() + 1;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m) + n * sizeof(m->routes[0]))) == NULL)
		return SD_E_NOMEM;
	m->n = n;
	*out = m;
	return 0;
}

void
api_metrics_free(struct api_metrics *m)
{
	free(m);
}

void
api_metrics_request(struct api_metrics *m, const struct api_route *route, unsigned status, uint64_t us)
{
	struct api_metrics_route *r;
	size_t i;

	if (m == NULL)
		return;
	i = route != NULL ? api_route_index(route) : m->n - 1;
	r = &m->routes[i < m->n ? i : m->n - 1];
	for (i = 0; i < API_METRICS_STATUSES && api_metrics_statuses[i] != status; i++)
		;
	atomic_fetch_add_explicit(&r->status[i], 1, memory_order_relaxed);
	sd_histogram_observe(&r->duration, us);
}

/* route="...",method="..." of route i, or of no route. */
static void
api_metrics_labels(size_t i, size_t n, char *buf, size_t size)
{
	const struct api_route *route = i + 1 < n ? api_route_at(i) : NULL;
	int w;

	/* Paths and methods of the permit table are plain ASCII: no escaping needed. */
	w = snprintf(buf, size, "route=\"%s\",method=\"%s\"", route != NULL ? route->path : "none",
	    route != NULL ? route->method : "none");
	if (w < 0 || (size_t)w >= size)
		buf[0] = '\0';
}

void
api_metrics_text(const struct api_metrics *m, struct sd_metrics_text *t)
{
	char labels[160];
	uint64_t v;
	size_t i, k;

	sd_metrics_family(t, "signerd_http_requests_total", "counter",
	    "HTTP requests answered, by route (\"none\": no route matched), method and status.");
	for (i = 0; i < m->n; i++) {
		api_metrics_labels(i, m->n, labels, sizeof(labels));
		for (k = 0; k <= API_METRICS_STATUSES; k++) {
			v = atomic_load_explicit(&m->routes[i].status[k], memory_order_relaxed);
			if (v == 0)
				continue;
			if (k < API_METRICS_STATUSES)
				sd_metrics_printf(t, "signerd_http_requests_total{%s,status=\"%u\"} %llu\n", labels,
				    api_metrics_statuses[k], (unsigned long long)v);
			else
				sd_metrics_printf(t, "signerd_http_requests_total{%s,status=\"other\"} %llu\n", labels,
				    (unsigned long long)v);
		}
	}
	sd_metrics_family(t, "signerd_http_request_duration_seconds", "histogram",
	    "Time from complete request headers to the queued response, by route.");
	for (i = 0; i < m->n; i++) {
		api_metrics_labels(i, m->n, labels, sizeof(labels));
		sd_histogram_text(t, "signerd_http_request_duration_seconds", labels, &m->routes[i].duration);
	}
}
