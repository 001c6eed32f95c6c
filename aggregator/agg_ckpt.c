/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checkpoint files of open windows and close marks (agg_ckpt.h). The
 * encode/decode half is pure (unit tests, fuzz target); the file half runs
 * on the table owner's lcore, once per [checkpoint] interval and once per
 * window close, and on the main thread at start and at clean shutdown.
 *
 * Checkpoint layout (host byte order: a checkpoint is only read back by
 * weir on the host that wrote it, as the spill journal is):
 *   struct ckpt_hdr                                    (magic .. rx)
 *   n_windows x { struct ckpt_win | id, zero padded to 8 | n_metrics x wr_stat }
 *   crc32c of everything before it (uint32)
 * Entries are in close order (agg_table_walk), so a restored table emits in
 * the order the old one would have.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_pause.h>

#include "agg_ckpt.h"
#include "wr_log.h"

struct ckpt_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_size;		/* sizeof(struct ckpt_hdr) */
	uint32_t n_metrics;
	uint32_t workers;
	uint32_t worker;
	uint32_t names_crc;
	int64_t size_ns;
	int64_t slide_ns;
	uint64_t n_windows;
	uint64_t body_len;		/* bytes of the entries */
	struct wr_ckpt_rx rx;
};

struct ckpt_win {
	int64_t k;			/* window index */
	uint64_t count;
	uint8_t id_len;
	uint8_t pad[7];
};

struct ckpt_closed {
	uint32_t magic;
	uint16_t version;
	uint16_t pad;
	int64_t closed_k;
	int64_t closed_wm;
	uint32_t crc;
	uint32_t pad2;
};

_Static_assert(sizeof(struct ckpt_closed) == AGG_CKPT_CLOSED_SIZE, "close mark size");
/* tests/fuzz/fuzz_ckpt.c and tests/integration/test_checkpoint.py read this layout */
_Static_assert(sizeof(struct ckpt_hdr) == 104 && offsetof(struct ckpt_hdr, rx) == 56,
	       "checkpoint header layout");
_Static_assert(sizeof(struct ckpt_win) == 24, "checkpoint entry layout");

static inline size_t
win_bytes(unsigned int n_metrics, uint8_t id_len)
{
	return sizeof(struct ckpt_win) + RTE_ALIGN_CEIL((size_t)id_len, 8) +
	       (size_t)n_metrics * sizeof(struct wr_stat);
}

/*
 * CRC32C as rte_hash_crc() computes it, words loaded by value: names and
 * file bytes sit at any address, and rte_hash_crc() would load them as
 * misaligned uint64_t (UBSan).
 */
uint32_t
agg_ckpt_crc(const void *buf, size_t n, uint32_t crc)
{
	const uint8_t *p = buf;
	uint64_t v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, sizeof(v));
		crc = rte_hash_crc_8byte(v, crc);
	}
	for (; n > 0; p++, n--)
		crc = rte_hash_crc_1byte(*p, crc);
	return crc;
}

static inline uint32_t
crc32c(const void *p, size_t n)
{
	return agg_ckpt_crc(p, n, UINT32_MAX);
}

uint32_t
agg_ckpt_names_crc(const char *const *names, unsigned int n)
{
	uint32_t crc = UINT32_MAX;
	unsigned int i;

	for (i = 0; i < n; i++)
		crc = agg_ckpt_crc(names[i], strlen(names[i]) + 1, crc);
	return crc;
}

/* ---- encode ----------------------------------------------------------- */

struct enc {
	uint8_t *buf;
	size_t cap;
	size_t off;
	unsigned int n_metrics;
};

static void
enc_win(void *arg, const char *id, uint8_t id_len, int64_t k, uint64_t count,
	const struct wr_stat *stats)
{
	struct enc *e = arg;
	size_t need = win_bytes(e->n_metrics, id_len);
	struct ckpt_win w;

	if (e->buf != NULL && e->off + need <= e->cap) {
		memset(&w, 0, sizeof(w));
		w.k = k;
		w.count = count;
		w.id_len = id_len;
		memcpy(e->buf + e->off, &w, sizeof(w));
		memset(e->buf + e->off + sizeof(w), 0, RTE_ALIGN_CEIL((size_t)id_len, 8));
		memcpy(e->buf + e->off + sizeof(w), id, id_len);
		memcpy(e->buf + e->off + sizeof(w) + RTE_ALIGN_CEIL((size_t)id_len, 8), stats,
		       (size_t)e->n_metrics * sizeof(struct wr_stat));
	}
	e->off += need;
}

size_t
agg_ckpt_encode(const struct agg_table *t, const struct agg_ckpt_fp *fp,
		const struct wr_ckpt_rx *rx, uint8_t *buf, size_t cap)
{
	struct enc e = { .buf = NULL, .cap = 0, .off = sizeof(struct ckpt_hdr),
			 .n_metrics = fp->n_metrics };
	struct ckpt_hdr h;
	uint64_t n;
	uint32_t crc;
	size_t total;

	/* sizing pass first: a short buffer gets nothing half written */
	n = agg_table_walk(t, enc_win, &e);
	total = e.off + sizeof(crc);
	if (buf == NULL || total > cap)
		return total;
	e.buf = buf;
	e.cap = cap;
	e.off = sizeof(h);
	agg_table_walk(t, enc_win, &e);

	memset(&h, 0, sizeof(h));
	h.magic = AGG_CKPT_MAGIC;
	h.version = AGG_CKPT_VERSION;
	h.hdr_size = sizeof(h);
	h.n_metrics = fp->n_metrics;
	h.workers = fp->workers;
	h.worker = fp->worker;
	h.names_crc = fp->names_crc;
	h.size_ns = fp->size_ns;
	h.slide_ns = fp->slide_ns;
	h.n_windows = n;
	h.body_len = e.off - sizeof(h);
	if (rx != NULL)
		h.rx = *rx;
	memcpy(buf, &h, sizeof(h));
	crc = crc32c(buf, e.off);
	memcpy(buf + e.off, &crc, sizeof(crc));
	return total;
}

/* ---- decode ----------------------------------------------------------- */

static int
stat_ok(const struct wr_stat *s, uint64_t count)
{
	if (s->count == 0)
		return s->min == 0 && s->max == 0 && s->sum == 0 && s->mean == 0 && s->m2 == 0;
	return s->count <= count && isfinite(s->min) && isfinite(s->max) && isfinite(s->sum) &&
	       isfinite(s->mean) && isfinite(s->m2) && s->min <= s->max && s->m2 >= 0;
}

int
agg_ckpt_decode(const uint8_t *buf, size_t len, const struct agg_ckpt_fp *fp,
		int64_t closed_k, struct agg_table *t, struct wr_ckpt_rx *rx,
		struct agg_ckpt_counts *cnt)
{
	struct wr_stat stats[WR_METRICS_MAX];
	struct ckpt_hdr h;
	struct ckpt_win w;
	uint32_t crc;
	uint64_t i;
	size_t off, need;
	int pass, rc;

	memset(cnt, 0, sizeof(*cnt));
	if (buf == NULL || len < sizeof(h) + sizeof(crc))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != AGG_CKPT_MAGIC || h.version != AGG_CKPT_VERSION ||
	    h.hdr_size != sizeof(h) || h.n_metrics > WR_METRICS_MAX ||
	    h.body_len != len - sizeof(h) - sizeof(crc))
		return -EBADMSG;	/* a cut file ends up here too */
	memcpy(&crc, buf + len - sizeof(crc), sizeof(crc));
	if (crc != crc32c(buf, len - sizeof(crc)))
		return -EBADMSG;
	if (h.n_metrics != fp->n_metrics || h.workers != fp->workers || h.worker != fp->worker ||
	    h.names_crc != fp->names_crc || h.size_ns != fp->size_ns ||
	    h.slide_ns != fp->slide_ns)
		return -ESTALE;

	/* pass 0 checks every entry, pass 1 restores: a bad file changes nothing */
	for (pass = 0; pass < 2; pass++) {
		off = sizeof(h);
		for (i = 0; i < h.n_windows; i++) {
			if (len - sizeof(crc) - off < sizeof(w))
				return -EBADMSG;
			memcpy(&w, buf + off, sizeof(w));
			if (w.id_len == 0 || w.id_len > WR_DEVID_MAX || w.k < 0 || w.count == 0)
				return -EBADMSG;
			need = win_bytes(h.n_metrics, w.id_len);
			if (len - sizeof(crc) - off < need)
				return -EBADMSG;
			memcpy(stats, buf + off + need - h.n_metrics * sizeof(struct wr_stat),
			       h.n_metrics * sizeof(struct wr_stat));
			if (pass == 0) {
				unsigned int m;

				for (m = 0; m < h.n_metrics; m++)
					if (!stat_ok(&stats[m], w.count))
						return -EBADMSG;
			} else if (w.k <= closed_k) {
				cnt->discarded++;	/* closed, so already in Kafka */
			} else {
				rc = agg_table_restore(t, (const char *)buf + off + sizeof(w),
						       w.id_len, w.k, w.count, stats);
				if (rc == 0) {
					cnt->windows++;
					cnt->records += w.count;
				} else {
					cnt->discarded++;
				}
			}
			off += need;
		}
		if (off != len - sizeof(crc))
			return -EBADMSG;
	}
	if (rx != NULL)
		*rx = h.rx;
	return 0;
}

void
agg_ckpt_closed_encode(uint8_t buf[AGG_CKPT_CLOSED_SIZE], int64_t closed_k, int64_t closed_wm)
{
	struct ckpt_closed m;

	memset(&m, 0, sizeof(m));
	m.magic = AGG_CKPT_CLOSED_MAGIC;
	m.version = AGG_CKPT_VERSION;
	m.closed_k = closed_k;
	m.closed_wm = closed_wm;
	m.crc = crc32c(&m, offsetof(struct ckpt_closed, crc));
	memcpy(buf, &m, sizeof(m));
}

int
agg_ckpt_closed_decode(const uint8_t *buf, size_t len, int64_t *closed_k, int64_t *closed_wm)
{
	struct ckpt_closed m;

	if (buf == NULL || len != sizeof(m))
		return -EBADMSG;
	memcpy(&m, buf, sizeof(m));
	if (m.magic != AGG_CKPT_CLOSED_MAGIC || m.version != AGG_CKPT_VERSION ||
	    m.crc != crc32c(&m, offsetof(struct ckpt_closed, crc)))
		return -EBADMSG;
	*closed_k = m.closed_k;
	*closed_wm = m.closed_wm;
	return 0;
}

/* ---- files ------------------------------------------------------------ */

/* Highest window index closed by watermark wm: k*D + S <= wm. */
static int64_t
closed_index(const struct agg_ckpt_fp *fp, int64_t wm)
{
	if (wm < INT64_MIN + fp->size_ns)
		return INT64_MIN;
	return agg_floor_div(wm - fp->size_ns, fp->slide_ns);
}

/* End of window k + 1: where the next close happens. */
static int64_t
next_close(const struct agg_ckpt_fp *fp, int64_t closed_k)
{
	int64_t v;

	if (closed_k == INT64_MIN)
		return INT64_MIN + fp->size_ns;
	if (__builtin_mul_overflow(closed_k + 1, fp->slide_ns, &v) ||
	    __builtin_add_overflow(v, fp->size_ns, &v))
		return INT64_MAX;
	return v;
}

static int
read_small(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -errno;
	*len = (size_t)n;
	return 0;
}

struct agg_ckpt *
agg_ckpt_open(const char *dir, const struct agg_ckpt_fp *fp, struct wr_counters *ctr,
	      char *err, size_t errlen)
{
	uint8_t mark[AGG_CKPT_CLOSED_SIZE + 1];
	char path[AGG_CKPT_PATH_MAX];
	struct agg_ckpt *c;
	size_t len;

	if (dir == NULL || dir[0] == '\0' || strlen(dir) > AGG_CKPT_PATH_MAX - 32) {
		snprintf(err, errlen, "[checkpoint] dir: empty or too long");
		return NULL;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "[checkpoint] dir %s: cannot create it: %s", dir,
			 strerror(errno));
		return NULL;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "[checkpoint] dir %s: not writable: %s", dir,
			 strerror(errno));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "[checkpoint]: out of memory");
		return NULL;
	}
	c->fp = *fp;
	c->ctr = ctr;
	c->closed_k = INT64_MIN;
	c->closed_wm = INT64_MIN;
	snprintf(c->path, sizeof(c->path), "%s/agg%u.ckpt", dir, fp->worker);
	snprintf(c->tmp, sizeof(c->tmp), "%s/agg%u.ckpt.tmp", dir, fp->worker);
	snprintf(path, sizeof(path), "%s/agg%u.closed", dir, fp->worker);
	/* a mark left by the crashed run stays in force until moved past */
	if (read_small(path, mark, sizeof(mark), &len) == 0 &&
	    agg_ckpt_closed_decode(mark, len, &c->closed_k, &c->closed_wm) != 0) {
		WR_LOG(WARNING, aggregator, "event=checkpoint_close_mark_bad path=%s "
		       "hint=\"torn or foreign file: its checkpoint will not be restored\"", path);
		c->closed_k = INT64_MAX;	/* unknown: restore nothing of this owner */
	}
	c->closed_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (c->closed_fd < 0) {
		snprintf(err, errlen, "[checkpoint] dir %s: cannot open %s: %s", dir, path,
			 strerror(errno));
		free(c);
		return NULL;
	}
	c->next_close_wm = next_close(fp, c->closed_k == INT64_MAX ? INT64_MIN : c->closed_k);
	return c;
}

void
agg_ckpt_close(struct agg_ckpt *c)
{
	if (c == NULL)
		return;
	if (c->closed_fd >= 0)
		close(c->closed_fd);
	free(c->buf);
	free(c);
}

int
agg_ckpt_restore(struct agg_ckpt *c, struct agg_table *t, struct wr_ckpt_rx *rx)
{
	struct agg_ckpt_counts cnt;
	struct stat sb;
	uint8_t *buf;
	size_t len;
	int rc;

	if (stat(c->path, &sb) != 0)
		return 0;	/* nothing to resume */
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL || read_small(c->path, buf, (size_t)sb.st_size + 1, &len) != 0) {
		free(buf);
		c->ctr->v[WR_CTR_CKPT_REFUSED]++;
		WR_LOG(ERR, aggregator, "event=checkpoint_unreadable path=%s", c->path);
		return 0;
	}
	rc = agg_ckpt_decode(buf, len, &c->fp, c->closed_k, t, rx, &cnt);
	free(buf);
	if (rc != 0) {
		c->ctr->v[WR_CTR_CKPT_REFUSED]++;
		WR_LOG(ERR, aggregator, "event=checkpoint_refused path=%s reason=%s "
		       "hint=\"starting this aggregator's windows fresh\"", c->path,
		       rc == -ESTALE ? "\"written under another configuration (metrics, window "
		       "size/slide or workers differ)\"" : "\"torn or corrupt (bad CRC)\"");
		return 0;
	}
	c->ctr->v[WR_CTR_CKPT_RESTORED_WINDOWS] += cnt.windows;
	c->ctr->v[WR_CTR_CKPT_RESTORED_RECORDS] += cnt.records;
	c->ctr->v[WR_CTR_CKPT_DISCARDED] += cnt.discarded;
	WR_LOG(NOTICE, aggregator, "event=checkpoint_restored path=%s seq=%" PRIu64
	       " windows=%" PRIu64 " records=%" PRIu64 " discarded=%" PRIu64, c->path, rx->seq,
	       cnt.windows, cnt.records, cnt.discarded);
	return 1;
}

int64_t
agg_ckpt_dir_closed_wm(const char *dir)
{
	uint8_t mark[AGG_CKPT_CLOSED_SIZE + 1];
	char path[AGG_CKPT_PATH_MAX];
	int64_t wm = INT64_MIN, k, m;
	unsigned int w;
	size_t len;

	for (w = 0; w < AGG_CKPT_OWNERS_MAX; w++) {
		snprintf(path, sizeof(path), "%s/agg%u.closed", dir, w);
		if (read_small(path, mark, sizeof(mark), &len) == 0 &&
		    agg_ckpt_closed_decode(mark, len, &k, &m) == 0 && m > wm)
			wm = m;
	}
	return wm;
}

void
agg_ckpt_dir_clear(const char *dir)
{
	static const char *const suffix[] = { "ckpt", "ckpt.tmp", "closed" };
	char path[AGG_CKPT_PATH_MAX];
	unsigned int w, i;

	for (w = 0; w < AGG_CKPT_OWNERS_MAX; w++)
		for (i = 0; i < RTE_DIM(suffix); i++) {
			snprintf(path, sizeof(path), "%s/agg%u.%s", dir, w, suffix[i]);
			unlink(path);
		}
}

void
agg_ckpt_mark(struct agg_ckpt *c, const struct agg_table *t, const struct wr_record *r)
{
	uint8_t mark[AGG_CKPT_CLOSED_SIZE];
	int64_t k = c->closed_k, wm = c->closed_wm, lo, hi, v;
	uint64_t t0 = rte_rdtsc();

	if (c->closed_k == INT64_MAX)
		c->closed_k = k = INT64_MIN;	/* a bad mark read at start: begin anew */
	if (r->watermark_ns > wm)
		wm = r->watermark_ns;
	v = closed_index(&c->fp, wm);
	if (v > k)
		k = v;
	if ((r->kind == WR_REC_FLUSH || r->kind == WR_REC_CLOSE) && agg_table_span(t, &lo, &hi)) {
		/* every open window goes out now */
		if (hi > k)
			k = hi;
		/* end of input: a restart must judge them closed, not reopen them */
		if (r->kind == WR_REC_FLUSH) {
			v = next_close(&c->fp, hi - 1);
			if (v > wm)
				wm = v;
		}
	}
	c->next_close_wm = next_close(&c->fp, k);
	if (k == c->closed_k && wm == c->closed_wm)
		return;
	c->closed_k = k;
	c->closed_wm = wm;
	agg_ckpt_closed_encode(mark, k, wm);
	/* one small pwrite at offset 0: a killed process leaves it whole */
	if (pwrite(c->closed_fd, mark, sizeof(mark), 0) != (ssize_t)sizeof(mark)) {
		c->ctr->v[WR_CTR_CKPT_FAILED]++;
		WR_LOG(ERR, aggregator, "event=checkpoint_close_mark_failed worker=%u err=\"%s\"",
		       c->fp.worker, strerror(errno));
	}
	c->ctr->v[WR_CTR_CKPT_NS] += (uint64_t)((double)(rte_rdtsc() - t0) * 1e9 /
						 (double)rte_get_tsc_hz());
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* tmp + rename: a kill mid-write leaves the previous checkpoint whole. */
static int
ckpt_file_write(struct agg_ckpt *c)
{
	int fd, rc;

	fd = open(c->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, c->buf, c->len);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(c->tmp, c->path) != 0)
		rc = -errno;
	return rc;
}

static inline uint64_t
tsc_ns(uint64_t t0)
{
	return (uint64_t)((double)(rte_rdtsc() - t0) * 1e9 / (double)rte_get_tsc_hz());
}

/* The owner takes the outcome of the last save into its own counters. */
static void
ckpt_account(struct agg_ckpt *c, int rc, uint64_t write_ns)
{
	c->ctr->v[WR_CTR_CKPT_WRITE_NS] += write_ns;
	if (rc == 0) {
		c->ctr->v[WR_CTR_CKPT_WRITTEN]++;
		return;
	}
	c->ctr->v[WR_CTR_CKPT_FAILED]++;
	WR_LOG(ERR, aggregator, "event=checkpoint_failed worker=%u path=%s err=\"%s\"",
	       c->fp.worker, c->tmp, strerror(-rc));
}

int
agg_ckpt_write(struct agg_ckpt *c, const struct agg_table *t, const struct wr_ckpt_rx *rx)
{
	uint64_t t0 = rte_rdtsc();
	int state = atomic_load_explicit(&c->state, memory_order_acquire);
	size_t need;
	int rc;

	if (state == AGG_CKPT_READY || state == AGG_CKPT_WRITING) {
		c->ctr->v[WR_CTR_CKPT_SKIPPED]++;	/* the disk is slower than the interval */
		return -EBUSY;
	}
	if (state == AGG_CKPT_DONE)
		ckpt_account(c, c->rc, c->write_ns);
	need = agg_ckpt_encode(t, &c->fp, rx, c->buf, c->cap);
	if (need > c->cap) {
		/* grows with the open state, once per checkpoint at most; never per record */
		size_t cap = RTE_MAX(need + need / 4, (size_t)4096);
		uint8_t *b = realloc(c->buf, cap);

		if (b == NULL) {
			atomic_store_explicit(&c->state, AGG_CKPT_IDLE, memory_order_relaxed);
			ckpt_account(c, -ENOMEM, 0);
			return -ENOMEM;
		}
		c->buf = b;
		c->cap = cap;
		need = agg_ckpt_encode(t, &c->fp, rx, c->buf, c->cap);
	}
	c->len = need;
	if (c->async) {
		atomic_store_explicit(&c->state, AGG_CKPT_READY, memory_order_release);
		c->ctr->v[WR_CTR_CKPT_NS] += tsc_ns(t0);
		return 0;
	}
	atomic_store_explicit(&c->state, AGG_CKPT_IDLE, memory_order_relaxed);
	rc = ckpt_file_write(c);
	ckpt_account(c, rc, tsc_ns(t0));
	c->ctr->v[WR_CTR_CKPT_NS] += tsc_ns(t0);
	return rc;
}

void
agg_ckpt_retire(struct agg_ckpt *c, const struct agg_table *next)
{
	uint8_t mark[AGG_CKPT_CLOSED_SIZE];
	int state = AGG_CKPT_READY;

	if (c == NULL)
		return;
	/* a save not started yet is cancelled; one under way is waited for */
	if (!atomic_compare_exchange_strong_explicit(&c->state, &state, AGG_CKPT_IDLE,
						     memory_order_acquire, memory_order_relaxed)) {
		while (state == AGG_CKPT_WRITING) {
			rte_pause();
			state = atomic_load_explicit(&c->state, memory_order_acquire);
		}
		if (state == AGG_CKPT_DONE) {
			ckpt_account(c, c->rc, c->write_ns);
			atomic_store_explicit(&c->state, AGG_CKPT_IDLE, memory_order_relaxed);
		}
	}
	if (unlink(c->path) != 0 && errno != ENOENT) {
		c->ctr->v[WR_CTR_CKPT_FAILED]++;
		WR_LOG(ERR, aggregator, "event=checkpoint_unlink_failed path=%s err=\"%s\"",
		       c->path, strerror(errno));
	}
	if (next == NULL)
		return;
	agg_table_window(next, &c->fp.size_ns, &c->fp.slide_ns);
	/* the mark in the new scheme's window indices */
	c->closed_k = closed_index(&c->fp, c->closed_wm);
	c->next_close_wm = next_close(&c->fp, c->closed_k);
	agg_ckpt_closed_encode(mark, c->closed_k, c->closed_wm);
	if (pwrite(c->closed_fd, mark, sizeof(mark), 0) != (ssize_t)sizeof(mark))
		c->ctr->v[WR_CTR_CKPT_FAILED]++;
}

/* ---- writer thread ---------------------------------------------------- */

struct agg_ckpt_writer {
	pthread_t thread;
	_Atomic int quit;		/* main -> writer */
	unsigned int n;
	struct agg_ckpt *c[];
};

static void *
ckpt_writer_main(void *arg)
{
	struct agg_ckpt_writer *wr = arg;
	struct timespec nap = { .tv_sec = 0, .tv_nsec = 5000000 };
	unsigned int i;

	while (!atomic_load_explicit(&wr->quit, memory_order_acquire)) {
		for (i = 0; i < wr->n; i++) {
			struct agg_ckpt *c = wr->c[i];
			struct timespec a, b;
			int ready = AGG_CKPT_READY;

			/* a CAS: the owner may take a READY buffer back (agg_ckpt_retire) */
			if (!atomic_compare_exchange_strong_explicit(&c->state, &ready,
								     AGG_CKPT_WRITING,
								     memory_order_acquire,
								     memory_order_relaxed))
				continue;
			clock_gettime(CLOCK_MONOTONIC, &a);
			c->rc = ckpt_file_write(c);
			clock_gettime(CLOCK_MONOTONIC, &b);
			c->write_ns = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000LL +
						 (b.tv_nsec - a.tv_nsec));
			atomic_store_explicit(&c->state, AGG_CKPT_DONE, memory_order_release);
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

struct agg_ckpt_writer *
agg_ckpt_writer_start(struct agg_ckpt *const *c, unsigned int n, char *err, size_t errlen)
{
	struct agg_ckpt_writer *wr = calloc(1, sizeof(*wr) + n * sizeof(wr->c[0]));
	unsigned int i;
	int rc;

	if (wr == NULL) {
		snprintf(err, errlen, "[checkpoint]: out of memory");
		return NULL;
	}
	wr->n = n;
	for (i = 0; i < n; i++) {
		wr->c[i] = c[i];
		c[i]->async = 1;
	}
	rc = pthread_create(&wr->thread, NULL, ckpt_writer_main, wr);
	if (rc != 0) {
		for (i = 0; i < n; i++)
			c[i]->async = 0;
		free(wr);
		snprintf(err, errlen, "[checkpoint]: cannot start the writer thread: %s",
			 strerror(rc));
		return NULL;
	}
	pthread_setname_np(wr->thread, "weir-ckpt");
	return wr;
}

void
agg_ckpt_writer_stop(struct agg_ckpt_writer *wr)
{
	unsigned int i;

	if (wr == NULL)
		return;
	atomic_store_explicit(&wr->quit, 1, memory_order_release);
	pthread_join(wr->thread, NULL);
	/* the lcores are done: the main thread may count their last save */
	for (i = 0; i < wr->n; i++) {
		struct agg_ckpt *c = wr->c[i];

		if (atomic_load_explicit(&c->state, memory_order_acquire) == AGG_CKPT_DONE) {
			ckpt_account(c, c->rc, c->write_ns);
			atomic_store_explicit(&c->state, AGG_CKPT_IDLE, memory_order_relaxed);
		}
		c->async = 0;
	}
	free(wr);
}
