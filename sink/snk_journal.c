/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spill journal (format in snk_journal.h). Runs on the sink thread
 * only; plain blocking file I/O, never on an lcore.
 *
 * Segments are numbered; new records always go to the newest one (a new
 * segment per run, rolled at seg_max bytes), replay reads from the oldest.
 * A segment is deleted once the replay position has passed its end and
 * snk_journal_commit says everything handed out is settled.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <rte_hash_crc.h>

#include "snk_journal.h"
#include "wr_log.h"

#define JNL_SEG_MIN	(64u << 10)
#define JNL_SEG_MAX	(64u << 20)
#define JNL_PATH_MAX	4096
#define JNL_NO_SEG	UINT64_MAX

struct snk_journal {
	struct snk_journal_stats st;
	char dir[JNL_PATH_MAX];
	uint64_t max_bytes;
	uint64_t seg_max;	/* roll the write segment past this size */
	uint64_t bytes;		/* all segments on disk */
	uint64_t pending;	/* records not yet handed out */
	uint64_t first_seg;	/* oldest segment that may exist */
	uint64_t head_seg;	/* newest segment that exists (JNL_NO_SEG: none) */
	int wfd;		/* open write segment (= head_seg), or -1 */
	uint64_t wsize;
	uint64_t rseg;		/* replay position */
	uint64_t roff;
	int rfd;		/* open read segment (= rseg), or -1 */
	int lockfd;		/* DIR/lock, flock'ed: one weir per journal */
	uint8_t *rbuf;		/* SNK_JREC_HDR + SNK_JREC_MAX */
	uint8_t *wbuf;
};

/*
 * CRC32C as rte_hash_crc() computes it (seed ~0, no final xor), fed by
 * value: records sit at any offset, and rte_hash_crc() itself would load
 * misaligned words.
 */
static inline uint32_t
jcrc(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	uint64_t v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		crc = rte_hash_crc_8byte(v, crc);
	}
	for (; n > 0; p++, n--)
		crc = rte_hash_crc_1byte(*p, crc);
	return crc;
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

long
snk_jrec_parse(const uint8_t *buf, size_t len, struct snk_jrec *r)
{
	uint32_t rlen, klen;
	uint64_t ts = 0;
	int i;

	if (len < SNK_JREC_HDR)
		return 0;
	rlen = get_u32(buf);
	if (rlen < SNK_JREC_FIXED || rlen > SNK_JREC_MAX)
		return -1;
	if (len - SNK_JREC_HDR < rlen)
		return 0;
	if (jcrc(buf + SNK_JREC_HDR, rlen) != get_u32(buf + 4))
		return -1;
	for (i = 7; i >= 0; i--)
		ts = ts << 8 | buf[SNK_JREC_HDR + i];
	klen = (uint32_t)buf[SNK_JREC_HDR + 8] | (uint32_t)buf[SNK_JREC_HDR + 9] << 8;
	if (klen > SNK_JREC_KEY_MAX || klen > rlen - SNK_JREC_FIXED)
		return -1;
	r->ts_ms = (int64_t)ts;
	r->key = buf + SNK_JREC_HDR + SNK_JREC_FIXED;
	r->key_len = klen;
	r->value = r->key + klen;
	r->value_len = rlen - SNK_JREC_FIXED - klen;
	return (long)(SNK_JREC_HDR + rlen);
}

size_t
snk_jrec_encode(uint8_t *buf, size_t cap, int64_t ts_ms, const void *key, size_t key_len,
		const void *value, size_t value_len)
{
	size_t rlen = SNK_JREC_FIXED + key_len + value_len;
	uint64_t ts = (uint64_t)ts_ms;
	int i;

	if (key_len > SNK_JREC_KEY_MAX || value_len > SNK_JREC_MAX || rlen > SNK_JREC_MAX ||
	    SNK_JREC_HDR + rlen > cap)
		return 0;
	put_u32(buf, (uint32_t)rlen);
	for (i = 0; i < 8; i++)
		buf[SNK_JREC_HDR + i] = (uint8_t)(ts >> (8 * i));
	buf[SNK_JREC_HDR + 8] = (uint8_t)key_len;
	buf[SNK_JREC_HDR + 9] = (uint8_t)(key_len >> 8);
	if (key_len > 0)
		memcpy(buf + SNK_JREC_HDR + SNK_JREC_FIXED, key, key_len);
	if (value_len > 0)
		memcpy(buf + SNK_JREC_HDR + SNK_JREC_FIXED + key_len, value, value_len);
	put_u32(buf + 4, jcrc(buf + SNK_JREC_HDR, rlen));
	return SNK_JREC_HDR + rlen;
}

static void
seg_path(const struct snk_journal *j, uint64_t seg, char *out, size_t len)
{
	snprintf(out, len, "%s/spill-%016" PRIu64 ".wj", j->dir, seg);
}

static int
parse_seg_name(const char *name, uint64_t *seg)
{
	char *end;

	if (strncmp(name, "spill-", 6) != 0 || strlen(name) != 6 + 16 + 3 ||
	    strcmp(name + 22, ".wj") != 0 || strspn(name + 6, "0123456789") != 16)
		return -1;
	*seg = strtoull(name + 6, &end, 10);
	return 0;
}

/* Read exactly n bytes at off, or fewer only at end of file. */
static ssize_t
pread_full(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * Read the record at off of fd into j->rbuf.
 * @return its size, 0 at a clean end of file, -1 torn (file ends inside
 *   it), -2 corrupt, or -errno - 2 (< -2) on a read error.
 */
static long
read_rec(struct snk_journal *j, int fd, uint64_t off, struct snk_jrec *r)
{
	ssize_t n = pread_full(fd, j->rbuf, SNK_JREC_HDR, off);
	uint32_t rlen;
	long used;

	if (n < 0)
		return (long)n - 2;
	if (n == 0)
		return 0;
	if (n < SNK_JREC_HDR)
		return -1;
	rlen = get_u32(j->rbuf);
	if (rlen < SNK_JREC_FIXED || rlen > SNK_JREC_MAX)
		return -2;
	n = pread_full(fd, j->rbuf + SNK_JREC_HDR, rlen, off + SNK_JREC_HDR);
	if (n < 0)
		return (long)n - 2;
	if ((size_t)n < rlen)
		return -1;
	used = snk_jrec_parse(j->rbuf, SNK_JREC_HDR + rlen, r);
	return used > 0 ? used : -2;
}

/* Count the good records of a segment from off; cut a torn or corrupt tail. */
static int
seg_recover(struct snk_journal *j, uint64_t seg, uint64_t off)
{
	char path[JNL_PATH_MAX + 32];
	struct snk_jrec r;
	struct stat sb;
	long n;
	int fd;

	seg_path(j, seg, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		n = read_rec(j, fd, off, &r);
		if (n > 0) {
			j->pending++;
			off += (uint64_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (n < -2) {
			close(fd);
			return (int)(n + 2);
		}
		if (fstat(fd, &sb) == 0)
			WR_LOG(WARNING, sink, "event=journal_%s segment=%s offset=%" PRIu64
			       " bytes_cut=%" PRIu64 "", n == -1 ? "torn_record" : "corrupt_record",
			       path, off, (uint64_t)sb.st_size - off);
		if (n == -1)
			j->st.torn++;
		else
			j->st.corrupt++;
		/* what follows cannot be framed: cut it so that appends stay readable */
		if (ftruncate(fd, (off_t)off) != 0) {
			close(fd);
			return -errno;
		}
		break;
	}
	if (fstat(fd, &sb) == 0)
		j->bytes += (uint64_t)sb.st_size;
	close(fd);
	return 0;
}

static void
read_pos(struct snk_journal *j, uint64_t *seg, uint64_t *off)
{
	char path[JNL_PATH_MAX + 32];
	unsigned long long s, o;
	FILE *f;

	*seg = 0;
	*off = 0;
	snprintf(path, sizeof(path), "%s/replay.pos", j->dir);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fscanf(f, "%llu %llu", &s, &o) == 2) {
		*seg = s;
		*off = o;
	}
	fclose(f);
}

static int
write_pos(struct snk_journal *j)
{
	char path[JNL_PATH_MAX + 32], tmp[JNL_PATH_MAX + 40];
	FILE *f;

	snprintf(path, sizeof(path), "%s/replay.pos", j->dir);
	snprintf(tmp, sizeof(tmp), "%s/replay.pos.tmp", j->dir);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	if (fprintf(f, "%" PRIu64 " %" PRIu64 "\n", j->rseg, j->roff) < 0 || fflush(f) != 0) {
		fclose(f);
		return -EIO;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

struct snk_journal *
snk_journal_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	uint64_t lo = JNL_NO_SEG, hi = 0, seg, pseg, poff;
	struct snk_journal *j;
	struct dirent *de;
	DIR *d;
	int rc;

	if (dir == NULL || dir[0] == '\0' || strlen(dir) >= JNL_PATH_MAX) {
		snprintf(err, errlen, "[sink] spill_dir: empty or too long");
		return NULL;
	}
	if (max_bytes == 0) {
		snprintf(err, errlen, "[sink] spill_max_bytes: must be > 0");
		return NULL;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "[sink] spill_dir %s: %s", dir, strerror(errno));
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		snprintf(err, errlen, "spill journal: out of memory");
		return NULL;
	}
	j->lockfd = -1;
	j->rbuf = malloc(SNK_JREC_HDR + SNK_JREC_MAX);
	j->wbuf = malloc(SNK_JREC_HDR + SNK_JREC_MAX);
	if (j->rbuf == NULL || j->wbuf == NULL) {
		snprintf(err, errlen, "spill journal: out of memory");
		goto fail;
	}
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	j->max_bytes = max_bytes;
	j->seg_max = max_bytes / 8;
	if (j->seg_max < JNL_SEG_MIN)
		j->seg_max = JNL_SEG_MIN;
	if (j->seg_max > JNL_SEG_MAX)
		j->seg_max = JNL_SEG_MAX;
	j->wfd = -1;
	j->rfd = -1;
	{
		char lpath[JNL_PATH_MAX + 32];

		snprintf(lpath, sizeof(lpath), "%s/lock", dir);
		j->lockfd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		if (j->lockfd < 0 || flock(j->lockfd, LOCK_EX | LOCK_NB) != 0) {
			snprintf(err, errlen, "[sink] spill_dir %s: %s", dir,
				 errno == EWOULDBLOCK ? "in use by another weir" : strerror(errno));
			goto fail;
		}
	}

	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "[sink] spill_dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		if (parse_seg_name(de->d_name, &seg) != 0)
			continue;
		if (seg < lo)
			lo = seg;
		if (seg > hi)
			hi = seg;
	}
	closedir(d);

	read_pos(j, &pseg, &poff);
	if (lo == JNL_NO_SEG) {
		/* nothing left: keep numbering after the last replayed segment */
		j->head_seg = JNL_NO_SEG;
		j->first_seg = j->rseg = pseg;
		j->roff = 0;
		return j;
	}
	j->head_seg = hi;
	j->first_seg = lo;
	if (pseg < lo || pseg > hi) {
		j->rseg = lo;
		j->roff = 0;
	} else {
		j->rseg = pseg;
		j->roff = poff;
	}
	for (seg = lo; seg <= hi; seg++) {
		if (seg < j->rseg) {
			/* already replayed: a commit that did not get to delete it */
			char path[JNL_PATH_MAX + 32];

			seg_path(j, seg, path, sizeof(path));
			unlink(path);
			continue;
		}
		rc = seg_recover(j, seg, seg == j->rseg ? j->roff : 0);
		if (rc < 0) {
			snprintf(err, errlen, "[sink] spill_dir %s: segment %" PRIu64 ": %s", dir,
				 seg, strerror(-rc));
			goto fail;
		}
	}
	j->first_seg = j->rseg;
	j->st.recovered = j->pending;
	return j;

fail:
	if (j->lockfd >= 0)
		close(j->lockfd);
	free(j->rbuf);
	free(j->wbuf);
	free(j);
	return NULL;
}

void
snk_journal_close(struct snk_journal *j)
{
	if (j == NULL)
		return;
	if (j->wfd >= 0) {
		fdatasync(j->wfd);
		close(j->wfd);
	}
	if (j->rfd >= 0)
		close(j->rfd);
	close(j->lockfd);
	free(j->rbuf);
	free(j->wbuf);
	free(j);
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
open_write_seg(struct snk_journal *j)
{
	char path[JNL_PATH_MAX + 32];
	uint64_t seg = j->head_seg == JNL_NO_SEG ? j->rseg : j->head_seg + 1;

	if (seg < j->rseg)
		seg = j->rseg;
	seg_path(j, seg, path, sizeof(path));
	j->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (j->wfd < 0)
		return -errno;
	j->head_seg = seg;
	j->wsize = 0;
	return 0;
}

int
snk_journal_append(struct snk_journal *j, int64_t ts_ms, const void *key, size_t key_len,
		   const void *value, size_t value_len)
{
	size_t n = snk_jrec_encode(j->wbuf, SNK_JREC_HDR + SNK_JREC_MAX, ts_ms, key, key_len,
				   value, value_len);
	int rc;

	if (n == 0) {
		j->st.dropped_io++;
		return -EINVAL;
	}
	if (j->bytes + n > j->max_bytes) {
		j->st.dropped_cap++;
		return -ENOSPC;
	}
	if (j->wfd >= 0 && j->wsize >= j->seg_max) {
		close(j->wfd);
		j->wfd = -1;
	}
	if (j->wfd < 0) {
		rc = open_write_seg(j);
		if (rc < 0) {
			j->st.dropped_io++;
			return rc;
		}
	}
	rc = write_all(j->wfd, j->wbuf, n);
	if (rc < 0) {
		/* a partial record would be a torn tail: cut back to the last good one */
		if (ftruncate(j->wfd, (off_t)j->wsize) != 0)
			WR_LOG(WARNING, sink, "event=journal_truncate_failed err=%s",
			       strerror(errno));
		j->st.dropped_io++;
		return rc;
	}
	j->wsize += n;
	j->bytes += n;
	j->pending++;
	j->st.appended++;
	return 0;
}

int
snk_journal_next(struct snk_journal *j, struct snk_jrec *r)
{
	char path[JNL_PATH_MAX + 32];
	long n;

	for (;;) {
		if (j->head_seg == JNL_NO_SEG || j->rseg > j->head_seg) {
			j->pending = 0;
			return 0;
		}
		if (j->rfd < 0) {
			seg_path(j, j->rseg, path, sizeof(path));
			j->rfd = open(path, O_RDONLY | O_CLOEXEC);
			if (j->rfd < 0) {
				if (errno != ENOENT)
					return -errno;
				if (j->rseg == j->head_seg) {
					j->pending = 0;
					return 0;
				}
				j->rseg++;
				j->roff = 0;
				continue;
			}
		}
		n = read_rec(j, j->rfd, j->roff, r);
		if (n > 0) {
			j->roff += (uint64_t)n;
			if (j->pending > 0)
				j->pending--;
			j->st.read++;
			return 1;
		}
		if (n < -2)
			return (int)(n + 2);
		if (n == -2) {
			/* damaged after open: the rest of this segment is lost */
			j->st.corrupt++;
			WR_LOG(WARNING, sink, "event=journal_corrupt_record segment=%" PRIu64
			       " offset=%" PRIu64 "", j->rseg, j->roff);
			if (j->rseg == j->head_seg && j->wfd >= 0) {
				close(j->wfd);
				j->wfd = -1;
			}
		} else if (j->rseg == j->head_seg) {
			/* end of the newest segment: caught up */
			j->pending = 0;
			return 0;
		}
		close(j->rfd);
		j->rfd = -1;
		j->rseg++;
		j->roff = 0;
	}
}

static void
seg_unlink(struct snk_journal *j, uint64_t seg)
{
	char path[JNL_PATH_MAX + 32];
	struct stat sb;

	seg_path(j, seg, path, sizeof(path));
	if (stat(path, &sb) != 0)
		return;
	if (unlink(path) == 0)
		j->bytes -= (uint64_t)sb.st_size <= j->bytes ? (uint64_t)sb.st_size : j->bytes;
}

int
snk_journal_commit(struct snk_journal *j)
{
	char path[JNL_PATH_MAX + 32];
	struct stat sb;

	for (; j->first_seg < j->rseg; j->first_seg++)
		seg_unlink(j, j->first_seg);
	/* caught up with everything written: drop the newest segment too */
	if (j->head_seg != JNL_NO_SEG && j->rseg == j->head_seg) {
		seg_path(j, j->rseg, path, sizeof(path));
		if (stat(path, &sb) == 0 && (uint64_t)sb.st_size == j->roff) {
			if (j->rfd >= 0)
				close(j->rfd);
			j->rfd = -1;
			if (j->wfd >= 0)
				close(j->wfd);
			j->wfd = -1;
			seg_unlink(j, j->rseg);
			j->rseg++;
			j->roff = 0;
			j->first_seg = j->rseg;
			j->head_seg = JNL_NO_SEG;
			j->pending = 0;
		}
	}
	return write_pos(j);
}

uint64_t
snk_journal_pending(const struct snk_journal *j)
{
	return j->pending;
}

uint64_t
snk_journal_bytes(const struct snk_journal *j)
{
	return j->bytes;
}

const struct snk_journal_stats *
snk_journal_stats(const struct snk_journal *j)
{
	return &j->st;
}
