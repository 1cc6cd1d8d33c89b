/* Victim selection for the purge engine: classification, age histogram, cutoff, bounded candidate heap. */
#include <stdlib.h>
#include <string.h>
#include "lib/glob.h"
#include "purge/select.h"

struct cw_selector {
	const struct cw_purge_policy *p;
	int64_t now_ns;
	int64_t young_after;  /* ts > young_after: used more recently than min_age */
	int64_t aged_before;  /* ts < aged_before: unused longer than max_age */
	uint64_t hist_bytes[CW_PURGE_BUCKETS];
	uint64_t hist_files[CW_PURGE_BUCKETS];
	struct cw_selector_totals t;
	struct cw_purge_goals left;
	int round;
	/* Boundary-bucket candidates: a max-heap on (ts, path) while walking, so the
	 * newest can be evicted when over budget; sorted ascending afterwards. */
	struct cw_sel_entry *heap;
	size_t nheap, cap, mem, budget, next;
	bool sorted, overflowed_round;
	int64_t dropped_oldest; /* oldest candidate evicted or refused this round */
	bool have_last;
	int64_t last_ts;
	char *last_path;
};

enum cw_class { CLS_PROTECTED, CLS_YOUNG, CLS_HOT, CLS_AGED, CLS_CANDIDATE };

int64_t cw_purge_timestamp(enum cw_timestamp mode, int64_t atime_ns, int64_t mtime_ns,
			   int64_t ctime_ns, int64_t now_ns)
{
	int64_t ts = mtime_ns;
	if (mode == CW_TS_ATIME)
		ts = atime_ns;
	else if ((mode == CW_TS_MAX || mode == CW_TS_ACCESS) && atime_ns > mtime_ns)
		ts = atime_ns;
	if (ts <= now_ns)
		return ts;
	return ctime_ns < now_ns ? ctime_ns : now_ns;
}

int64_t cw_purge_timestamp_rec(enum cw_timestamp mode, int64_t atime_ns, int64_t mtime_ns, int64_t ctime_ns,
			       const struct cw_access_rec *rec, int64_t now_ns)
{
	if (mode != CW_TS_ACCESS)
		return cw_purge_timestamp(mode, atime_ns, mtime_ns, ctime_ns, now_ns);
	if (!rec)
		return cw_purge_timestamp(CW_TS_MAX, atime_ns, mtime_ns, ctime_ns, now_ns);
	int64_t last = rec->last_ns > INT64_MAX ? INT64_MAX : (int64_t)rec->last_ns;
	/* the record stands in for atime: the same future-time rule applies */
	return cw_purge_timestamp(CW_TS_MAX, last, mtime_ns, ctime_ns, now_ns);
}

bool cw_purge_name_protected(const struct cw_purge_policy *p, const char *relpath)
{
	for (size_t i = 0; i < p->nprotect; i++)
		if (cw_glob_match(p->protect[i], relpath))
			return true;
	return false;
}

bool cw_purge_path_protected(const struct cw_purge_policy *p, const char *relpath)
{
	char buf[4096];
	size_t len = strlen(relpath);
	if (p->nprotect == 0)
		return false;
	if (len >= sizeof(buf))
		return true; /* cannot check it: fail safe */
	memcpy(buf, relpath, len + 1);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		bool hit = cw_purge_name_protected(p, buf);
		buf[i] = '/';
		if (hit)
			return true;
	}
	return cw_purge_name_protected(p, buf);
}

unsigned cw_purge_bucket(uint64_t age_ns)
{
	uint64_t v = age_ns >> CW_PURGE_UNIT_SHIFT;
	const unsigned sub = 1u << CW_PURGE_SUB_BITS;
	if (v < sub)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	unsigned frac = (unsigned)(v >> (e - CW_PURGE_SUB_BITS)) & (sub - 1);
	return sub + (e - CW_PURGE_SUB_BITS) * sub + frac;
}

uint64_t cw_purge_bucket_floor(unsigned b)
{
	const unsigned sub = 1u << CW_PURGE_SUB_BITS;
	if (b < sub)
		return (uint64_t)b << CW_PURGE_UNIT_SHIFT;
	unsigned e = (b - sub) / sub + CW_PURGE_SUB_BITS;
	uint64_t frac = (b - sub) % sub;
	uint64_t v = (1ULL << e) | (frac << (e - CW_PURGE_SUB_BITS));
	return v << CW_PURGE_UNIT_SHIFT;
}

static uint64_t pct_of(uint64_t v, double pct)
{
	return (uint64_t)((long double)v * pct / 100.0L);
}

void cw_purge_compute_goals(const struct cw_purge_policy *p, uint64_t disk_bytes, uint64_t files,
			    uint64_t fs_free, uint64_t fs_total, struct cw_purge_goals *g)
{
	memset(g, 0, sizeof(*g));
	double lw = p->low_watermark < p->high_watermark ? p->low_watermark : p->high_watermark;
	if (p->max_size && disk_bytes > pct_of(p->max_size, p->high_watermark))
		g->size_bytes = disk_bytes - pct_of(p->max_size, lw);
	if (p->max_files && files > pct_of(p->max_files, p->high_watermark))
		g->files = files - pct_of(p->max_files, lw);
	if (p->min_free > 0 && fs_total) {
		/* "at least min_free": the exact share rounded up to a byte */
		long double exact = (long double)fs_total * p->min_free / 100.0L;
		uint64_t want = (uint64_t)exact;
		if ((long double)want < exact)
			want++;
		if (want > fs_total)
			want = fs_total;
		if (fs_free < want)
			g->free_bytes = want - fs_free;
	}
}

void cw_purge_compute_plan(const uint64_t *hist_bytes, const uint64_t *hist_files, size_t nb,
			   uint64_t need_bytes, uint64_t need_files, struct cw_purge_plan *out)
{
	memset(out, 0, sizeof(*out));
	out->boundary = -1;
	if (need_bytes == 0 && need_files == 0)
		return;
	uint64_t cb = 0, cf = 0;
	int lowest = -1;
	for (size_t i = nb; i-- > 0;) {
		if (hist_files[i] == 0)
			continue;
		if (cb + hist_bytes[i] >= need_bytes && cf + hist_files[i] >= need_files) {
			out->boundary = (int)i;
			out->above_bytes = cb;
			out->above_files = cf;
			return;
		}
		cb += hist_bytes[i];
		cf += hist_files[i];
		lowest = (int)i;
	}
	/* Not enough candidates: everything goes, the youngest bucket oldest first. */
	out->unreachable = true;
	out->boundary = lowest;
	if (lowest >= 0) {
		out->above_bytes = cb - hist_bytes[lowest];
		out->above_files = cf - hist_files[lowest];
	}
}

struct cw_selector *cw_selector_new(const struct cw_purge_policy *p, int64_t now_ns, size_t heap_budget)
{
	struct cw_selector *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = p;
	s->now_ns = now_ns;
	s->budget = heap_budget ? heap_budget : CW_PURGE_HEAP_BUDGET;
	s->young_after = p->min_age_ms > (uint64_t)now_ns / 1000000 ? INT64_MIN
								     : now_ns - (int64_t)(p->min_age_ms * 1000000);
	s->aged_before = INT64_MIN;
	if (p->max_age_ms && p->max_age_ms <= (uint64_t)now_ns / 1000000)
		s->aged_before = now_ns - (int64_t)(p->max_age_ms * 1000000);
	s->t.oldest_ts_ns = INT64_MAX;
	s->t.plan.boundary = -1;
	s->dropped_oldest = INT64_MAX;
	return s;
}

static void free_entries(struct cw_selector *s)
{
	for (size_t i = 0; i < s->nheap; i++)
		free(s->heap[i].relpath);
	s->nheap = 0;
	s->mem = 0;
}

void cw_selector_free(struct cw_selector *s)
{
	if (!s)
		return;
	free_entries(s);
	free(s->heap);
	free(s->last_path);
	free(s);
}

static enum cw_class classify(const struct cw_selector *s, const char *relpath, int64_t ts, bool under_prot,
			      bool hot)
{
	if (under_prot || cw_purge_name_protected(s->p, relpath))
		return CLS_PROTECTED;
	if (ts > s->young_after)
		return CLS_YOUNG;
	if (hot && (ts >= s->aged_before || s->p->keep_hot.age))
		return CLS_HOT;
	if (ts < s->aged_before)
		return CLS_AGED;
	return CLS_CANDIDATE;
}

static unsigned bucket_of(const struct cw_selector *s, int64_t ts)
{
	/* candidates are never younger than now (see cw_purge_timestamp) */
	return cw_purge_bucket(ts < s->now_ns ? (uint64_t)(s->now_ns - ts) : 0);
}

void cw_selector_add(struct cw_selector *s, const char *relpath, int64_t ts_ns, uint64_t disk,
		     uint64_t apparent, bool under_protected_dir, bool hot)
{
	s->t.files++;
	s->t.disk_bytes += disk;
	s->t.apparent_bytes += apparent;
	if (ts_ns < s->t.oldest_ts_ns)
		s->t.oldest_ts_ns = ts_ns;
	switch (classify(s, relpath, ts_ns, under_protected_dir, hot)) {
	case CLS_HOT:
		s->t.kept_hot_files++;
		s->t.kept_hot_bytes += disk;
		break;
	case CLS_AGED:
		s->t.aged_files++;
		s->t.aged_bytes += disk;
		break;
	case CLS_CANDIDATE: {
		unsigned b = bucket_of(s, ts_ns);
		s->hist_bytes[b] += disk;
		s->hist_files[b]++;
		break;
	}
	default:
		break;
	}
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void cw_selector_plan(struct cw_selector *s, uint64_t fs_free, uint64_t fs_total)
{
	struct cw_purge_goals *g = &s->t.goals;
	cw_purge_compute_goals(s->p, s->t.disk_bytes, s->t.files, fs_free, fs_total, g);
	s->left = *g;
	uint64_t need_bytes = g->size_bytes > g->free_bytes ? g->size_bytes : g->free_bytes;
	cw_purge_compute_plan(s->hist_bytes, s->hist_files, CW_PURGE_BUCKETS,
			      sat_sub(need_bytes, s->t.aged_bytes), sat_sub(g->files, s->t.aged_files),
			      &s->t.plan);
	s->t.work = s->t.aged_files > 0 || s->t.plan.boundary >= 0;
}

bool cw_selector_goal_left(const struct cw_selector *s)
{
	return cw_purge_goals_reason(&s->left) != CW_PURGE_REASON_MAX;
}

enum cw_purge_reason cw_purge_goals_reason(const struct cw_purge_goals *g)
{
	if (g->size_bytes)
		return CW_PURGE_SIZE;
	if (g->free_bytes)
		return CW_PURGE_FREE_SPACE;
	if (g->files)
		return CW_PURGE_FILES;
	return CW_PURGE_REASON_MAX;
}

/* A victim deleted for no age reason is charged to the first unmet goal. */
static bool goal_reason(const struct cw_selector *s, enum cw_purge_reason *r)
{
	*r = cw_purge_goals_reason(&s->left);
	return *r != CW_PURGE_REASON_MAX;
}

static int key_cmp(int64_t ats, const char *ap, int64_t bts, const char *bp)
{
	if (ats != bts)
		return ats < bts ? -1 : 1;
	return strcmp(ap, bp);
}

static int entry_cmp(const struct cw_sel_entry *a, const struct cw_sel_entry *b)
{
	return key_cmp(a->ts_ns, a->relpath, b->ts_ns, b->relpath);
}

static void sift_up(struct cw_sel_entry *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (entry_cmp(&h[parent], &h[i]) >= 0)
			return;
		struct cw_sel_entry tmp = h[parent];
		h[parent] = h[i];
		h[i] = tmp;
		i = parent;
	}
}

static void sift_down(struct cw_sel_entry *h, size_t n, size_t i)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = 2 * i + 2;
		if (l < n && entry_cmp(&h[l], &h[big]) > 0)
			big = l;
		if (r < n && entry_cmp(&h[r], &h[big]) > 0)
			big = r;
		if (big == i)
			return;
		struct cw_sel_entry tmp = h[big];
		h[big] = h[i];
		h[i] = tmp;
		i = big;
	}
}

/* What one candidate really costs: its slot with the array's doubling slack,
 * and the path copy rounded up to malloc's granule plus its header. */
static size_t entry_mem(const char *relpath)
{
	return 2 * sizeof(struct cw_sel_entry) + ((strlen(relpath) + 1 + 15) & ~(size_t)15) + 16;
}

static void evict_max(struct cw_selector *s)
{
	s->mem -= entry_mem(s->heap[0].relpath);
	free(s->heap[0].relpath);
	if (s->heap[0].ts_ns < s->dropped_oldest)
		s->dropped_oldest = s->heap[0].ts_ns;
	s->heap[0] = s->heap[--s->nheap];
	sift_down(s->heap, s->nheap, 0);
	s->overflowed_round = true;
}

/* Keeps the smallest keys within the memory budget; at least one always fits. */
static void refuse(struct cw_selector *s, int64_t ts)
{
	s->overflowed_round = true;
	if (ts < s->dropped_oldest)
		s->dropped_oldest = ts;
}

static void defer(struct cw_selector *s, const char *relpath, int64_t ts, uint64_t disk, uint64_t ino)
{
	size_t m = entry_mem(relpath);
	if (s->nheap && s->mem + m > s->budget &&
	    key_cmp(ts, relpath, s->heap[0].ts_ns, s->heap[0].relpath) >= 0) {
		refuse(s, ts);
		return;
	}
	if (s->nheap == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct cw_sel_entry *h = realloc(s->heap, cap * sizeof(*h));
		if (!h) {
			refuse(s, ts); /* try again next round */
			return;
		}
		s->heap = h;
		s->cap = cap;
	}
	char *copy = strdup(relpath);
	if (!copy) {
		refuse(s, ts);
		return;
	}
	s->heap[s->nheap] = (struct cw_sel_entry){ .ts_ns = ts, .disk = disk, .ino = ino, .relpath = copy };
	sift_up(s->heap, s->nheap++);
	s->mem += m;
	while (s->mem > s->budget && s->nheap > 1)
		evict_max(s);
}

static bool after_last(const struct cw_selector *s, int64_t ts, const char *relpath)
{
	return !s->have_last || key_cmp(ts, relpath, s->last_ts, s->last_path) > 0;
}

enum cw_sel_action cw_selector_offer(struct cw_selector *s, const char *relpath, int64_t ts_ns,
				     uint64_t disk, uint64_t ino, bool under_protected_dir, bool hot,
				     enum cw_purge_reason *reason)
{
	enum cw_class c = classify(s, relpath, ts_ns, under_protected_dir, hot);
	int boundary = s->t.plan.boundary;
	if (s->round > 0) {
		/* later rounds only look for boundary candidates not yet handed out */
		if (c != CLS_CANDIDATE || (int)bucket_of(s, ts_ns) != boundary || !after_last(s, ts_ns, relpath))
			return CW_SEL_KEEP;
		defer(s, relpath, ts_ns, disk, ino);
		return CW_SEL_DEFER;
	}
	if (c == CLS_AGED) {
		*reason = CW_PURGE_AGE;
		return CW_SEL_DELETE;
	}
	if (c != CLS_CANDIDATE || boundary < 0)
		return CW_SEL_KEEP;
	int b = (int)bucket_of(s, ts_ns);
	if (b < boundary)
		return CW_SEL_KEEP;
	if (b > boundary)
		return goal_reason(s, reason) ? CW_SEL_DELETE : CW_SEL_KEEP;
	defer(s, relpath, ts_ns, disk, ino);
	return CW_SEL_DEFER;
}

static int qsort_cmp(const void *a, const void *b)
{
	return entry_cmp(a, b);
}

const struct cw_sel_entry *cw_selector_next(struct cw_selector *s, enum cw_purge_reason *reason)
{
	if (!s->sorted) {
		if (s->nheap > 1)
			qsort(s->heap, s->nheap, sizeof(*s->heap), qsort_cmp);
		s->sorted = true;
	}
	if (s->next >= s->nheap || !goal_reason(s, reason))
		return NULL;
	return &s->heap[s->next++];
}

void cw_selector_done(struct cw_selector *s, uint64_t disk)
{
	s->left.size_bytes = sat_sub(s->left.size_bytes, disk);
	s->left.free_bytes = sat_sub(s->left.free_bytes, disk);
	s->left.files = sat_sub(s->left.files, 1);
}

bool cw_selector_need_round(struct cw_selector *s)
{
	if (s->overflowed_round)
		s->t.overflowed = true;
	return s->overflowed_round && cw_selector_goal_left(s) && s->next >= s->nheap;
}

int64_t cw_selector_kept_oldest(const struct cw_selector *s)
{
	int64_t oldest = s->dropped_oldest;
	if (s->sorted && s->next < s->nheap && s->heap[s->next].ts_ns < oldest)
		oldest = s->heap[s->next].ts_ns;
	return oldest;
}

void cw_selector_begin_round(struct cw_selector *s)
{
	if (s->next > 0) {
		struct cw_sel_entry *last = &s->heap[s->next - 1];
		free(s->last_path);
		s->last_path = last->relpath;
		s->last_ts = last->ts_ns;
		s->have_last = true;
		last->relpath = NULL;
	}
	free_entries(s);
	s->next = 0;
	s->sorted = false;
	s->overflowed_round = false;
	s->dropped_oldest = INT64_MAX;
	s->round++;
}

void cw_selector_totals(const struct cw_selector *s, struct cw_selector_totals *out)
{
	*out = s->t;
}

/* The driver tags each candidate with its index in place of an inode number. */
static size_t find_item(size_t n, const bool *gone, const struct cw_sel_entry *e)
{
	return e->ino < n && !gone[e->ino] ? (size_t)e->ino : n;
}

static void take(struct cw_selector *s, size_t i, enum cw_purge_reason r, const struct cw_purge_item *items,
		 bool *gone, size_t *victims, enum cw_purge_reason *reasons, size_t *nv)
{
	gone[i] = true;
	victims[*nv] = i;
	reasons[*nv] = r;
	(*nv)++;
	cw_selector_done(s, items[i].disk);
}

size_t cw_purge_select_items(const struct cw_purge_policy *p, int64_t now_ns, uint64_t fs_free,
			     uint64_t fs_total, const struct cw_purge_item *items, size_t n,
			     size_t heap_budget, size_t *victims, enum cw_purge_reason *reasons)
{
	return cw_purge_select_items_hot(p, now_ns, fs_free, fs_total, items, NULL, n, heap_budget, victims, reasons);
}

size_t cw_purge_select_items_hot(const struct cw_purge_policy *p, int64_t now_ns, uint64_t fs_free,
				 uint64_t fs_total, const struct cw_purge_item *items, const bool *hot, size_t n,
				 size_t heap_budget, size_t *victims, enum cw_purge_reason *reasons)
{
	size_t nv = 0;
	bool *gone = calloc(n ? n : 1, sizeof(*gone));
	struct cw_selector *s = cw_selector_new(p, now_ns, heap_budget);
	if (!gone || !s)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		cw_selector_add(s, items[i].relpath, items[i].ts_ns, items[i].disk, items[i].disk,
				cw_purge_path_protected(p, items[i].relpath), hot && hot[i]);
	cw_selector_plan(s, fs_free, fs_total);
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			enum cw_purge_reason r;
			if (gone[i])
				continue;
			if (cw_selector_offer(s, items[i].relpath, items[i].ts_ns, items[i].disk,
					      i, cw_purge_path_protected(p, items[i].relpath), hot && hot[i],
					      &r) == CW_SEL_DELETE)
				take(s, i, r, items, gone, victims, reasons, &nv);
		}
		const struct cw_sel_entry *e;
		enum cw_purge_reason r;
		while ((e = cw_selector_next(s, &r))) {
			size_t i = find_item(n, gone, e);
			if (i < n)
				take(s, i, r, items, gone, victims, reasons, &nv);
		}
		if (!cw_selector_need_round(s))
			break;
		cw_selector_begin_round(s);
	}
cleanup:
	cw_selector_free(s);
	free(gone);
	return nv;
}
