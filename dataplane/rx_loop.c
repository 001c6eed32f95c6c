/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RX lcore: burst receive, L2-L4 classification, payload decoding,
 * the pipeline watermark and late decisions (SPEC §4, in capture order),
 * and sharding of compact records onto one rx_to_agg ring per aggregator.
 * mbufs are freed here. Runs on one lcore; this file owns struct
 * dp_rx_state.
 *
 * Watermark rule, shared with tests/refmodel.py:
 *   W = max(W, t - allowed_lateness) for each valid record, before judging
 *   it; late when floor(t/D)*D + S <= W; otherwise the record joins windows
 *   first_k..floor(t/D) with first_k the first window containing t whose end
 *   is > W. Idle: before each packet (and on empty polls, live), when
 *   clock - last_valid_arrival >= idle_timeout,
 *   W = max(W, W_at_last_valid + (clock - last_valid_arrival)).
 * Window scheme change (weirctl set window): t < B is judged with the old
 * size/slide, t >= B with the new one (only its windows starting at or
 * after B); once W passes the end of the last old window the old scheme is
 * retired and t < B is late (rx_switch_start / rx_switch_end).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "agg.h"
#include "agg_alert.h"
#include "agg_loop.h"
#include "dp.h"
#include "dp_host.h"
#include "hdr.h"
#include "wr_log.h"

#define RX_BURST_MAX	512
#define RX_STAGE	64	/* records staged per worker before an enqueue */

static inline uint16_t
ld_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct dp_rx_state {
	struct dp_decode_out out;	/* must stay first: emit gets &out */
	struct dp_rx *rx;
	/* watermark state (SPEC §4) */
	int64_t w;
	int64_t last_valid_arrival;
	int64_t w_at_last_valid;
	int have_valid;
	/* dead letters: records emitted so far (valid ones), what out.rejected
	 * held at the last dead letter, token bucket on the arrival clock */
	uint64_t emitted;
	uint64_t rej_seen[WR_REASON_COUNT];
	double dlq_tokens;
	int64_t dlq_last_ns;
	struct wr_dead_letter dl;
	/* window scheme: (size, slide) of parity par judges t < b, (size_nxt,
	 * slide_nxt) of parity par ^ 1 judges t >= b; b = INT64_MAX when no
	 * change is pending. b_done: the boundary of the last completed change
	 * (INT64_MIN: none): every window before it is closed, so t < b_done is
	 * late. t_max: the largest valid time judged so far. */
	int64_t size, slide, size_nxt, slide_nxt, b, b_done, t_max;
	unsigned int par;
	uint32_t win_gen;
	struct agg_table *itab[2];	/* workers == 0: the tables by parity */
	int inline_pf;			/* workers == 0: fold in batches (stage[0]) with
					 * the table prefetch; 0: each record at once */
	/* tunables in use (rx->tun at the last burst boundary) */
	const struct dp_tunables *tun;
	uint64_t flush_seen;
	uint64_t top_seen;		/* workers == 0: last weirctl top request served */
	int64_t ckpt_next;		/* RX clock of the next checkpoint, INT64_MIN: unset */
	uint64_t ckpt_seq;		/* last checkpoint number sent */
	/* current packet */
	int64_t arrival_ns;
	uint64_t burst_tsc;
	/* per worker staging; workers == 0: stage[0] holds the inline batch */
	uint8_t **stage;
	unsigned int *n_stage;
	int64_t *w_sent;		/* last watermark each worker has seen */
	struct agg_stage inline_stage;
	/* IP reassembly (rx->frag_tbl != NULL): what the table gave up on, and
	 * a buffer for a whole reassembled frame */
	struct rte_ip_frag_death_row dr;
	uint8_t *big;
	/* overload log lines, at most one a second each */
	struct wr_ratelimit ring_log, full_log;
};

static const struct rte_mbuf_dynfield replay_dynfield_desc = {
	.name = "weir_dynfield_replay",
	.size = sizeof(struct dp_replay_meta),
	.align = __alignof__(struct dp_replay_meta),
};

int
dp_replay_dynfield_register(void)
{
	return rte_mbuf_dynfield_register(&replay_dynfield_desc);
}

static inline int64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Idle advance: quiet streams still close their windows. */
static inline void
rx_idle_advance(struct dp_rx_state *st, int64_t clock)
{
	int64_t quiet = clock - st->last_valid_arrival;

	if (!st->have_valid || quiet < st->tun->idle_ns)
		return;
	if (st->w_at_last_valid + quiet > st->w)
		st->w = st->w_at_last_valid + quiet;
}

/* Records the ring had no room for (live): counted, logged at most once a second. */
static void
rx_ring_full(struct dp_rx_state *st, unsigned int w, unsigned int n)
{
	struct dp_rx *rx = st->rx;
	uint64_t k;

	rx->ctr->v[WR_CTR_DROP_RING_FULL] += n;
	k = wr_ratelimit_hit(&st->ring_log, n, rte_rdtsc(), rte_get_tsc_hz());
	if (k != 0)
		WR_LOG(WARNING, dataplane, "event=ring_full worker=%u dropped=%" PRIu64
		       " total=%" PRIu64 " hint=\"aggregator %u cannot keep up: more [aggregator] "
		       "workers or a bigger [dataplane] ring_size\"", w, k,
		       rx->ctr->v[WR_CTR_DROP_RING_FULL], w);
}

static void
rx_flush_worker(struct dp_rx_state *st, unsigned int w)
{
	struct dp_rx *rx = st->rx;
	unsigned int n = st->n_stage[w], done = 0;

	while (done < n) {
		done += rte_ring_enqueue_burst_elem(rx->to_agg[w],
						    st->stage[w] + done * rx->rec_size,
						    (unsigned int)rx->rec_size, n - done, NULL);
		if (done == n)
			break;
		if (!rx->replay) {
			rx_ring_full(st, w, n - done);
			break;
		}
		/* replay is not a wire: wait for the aggregator instead of dropping */
		rx->ctr->v[WR_CTR_RING_WAITS]++;
		rte_pause();
	}
	st->n_stage[w] = 0;
}

/* Stage a record that only carries the watermark (TICK, CLOSE, FLUSH) for worker w. */
static struct wr_record *
rx_stage_control(struct dp_rx_state *st, unsigned int w, uint8_t kind)
{
	struct dp_rx *rx = st->rx;
	struct wr_record *r;

	if (st->n_stage[w] == RX_STAGE)
		rx_flush_worker(st, w);
	r = (struct wr_record *)(st->stage[w] + st->n_stage[w] * rx->rec_size);
	memset(r, 0, offsetof(struct wr_record, values));
	r->kind = kind;
	r->watermark_ns = st->w;
	r->rx_tsc = st->burst_tsc;
	st->n_stage[w]++;
	st->w_sent[w] = st->w;
	if (kind == WR_REC_TICK)
		rx->ctr->v[WR_CTR_TICKS]++;
	return r;
}

/* Tell every worker now (flush and end of input). */
static void
rx_send_kind(struct dp_rx_state *st, uint8_t kind)
{
	unsigned int w;

	for (w = 0; w < st->rx->n_workers; w++) {
		rx_stage_control(st, w, kind);
		rx_flush_worker(st, w);
	}
}

/* Inline aggregation (workers = 0): the record goes straight to the table. */
static void
rx_inline(struct dp_rx_state *st, const struct wr_record *r)
{
	struct dp_rx *rx = st->rx;
	int rc;

	if (r->kind == WR_REC_DATA) {
		uint64_t d = rte_rdtsc() - r->rx_tsc;

		hdr_record(rx->inline_lat, (uint64_t)((double)d * 1e9 / (double)rte_get_tsc_hz()));
	}
	/* the close mark moves before anything closes (no window twice in Kafka) */
	agg_ckpt_before(rx->inline_ckpt, st->itab[st->par], r);
	if (r->kind == WR_REC_DATA) {
		rc = agg_table_process(st->itab[r->pad[0] & 1u], r, agg_stage_emit,
				       &st->inline_stage);
	} else {
		rc = agg_table_process(st->itab[st->par], r, agg_stage_emit, &st->inline_stage);
		if (st->itab[st->par ^ 1u] != NULL)
			agg_table_process(st->itab[st->par ^ 1u], r, agg_stage_emit,
					  &st->inline_stage);
	}
	if (rc == 0 && r->kind == WR_REC_DATA) {
		rx->ctr->v[WR_CTR_REC_FOLDED]++;
		if (rx->alert_rules != NULL)
			agg_alerts_eval(rx->alerts,
					atomic_load_explicit(rx->alert_rules, memory_order_acquire),
					r, rx->slide_ns, rx->alerts_out, rx->ctr);
	} else if (rc == -ENOSPC) {
		uint64_t k;

		rx->ctr->v[WR_CTR_DROP_DEVICES_FULL]++;
		k = wr_ratelimit_hit(&st->full_log, 1, rte_rdtsc(), rte_get_tsc_hz());
		if (k != 0)
			WR_LOG(WARNING, dataplane, "event=devices_full dropped=%" PRIu64 " total=%"
			       PRIu64 " hint=\"raise [aggregator] max_devices\"", k,
			       rx->ctr->v[WR_CTR_DROP_DEVICES_FULL]);
	} else if (rc == AGG_CLOSED) {
		rx->ctr->v[WR_CTR_DROP_SKEW]++;	/* one queue inline: never */
	} else if (rc < 0) {
		rx->ctr->v[WR_CTR_DROP_REFUSED]++;
	}
}

/* Stage st of the table prefetch for record i of the batch, when there is one. */
static inline void
rx_inline_prefetch(const struct dp_rx_state *st, unsigned int n, unsigned int i, unsigned int s)
{
	const struct wr_record *r;
	const struct agg_table *t;

	if (i >= n)
		return;
	r = (const struct wr_record *)(st->stage[0] + i * st->rx->rec_size);
	t = st->itab[r->pad[0] & 1u];
	if (t != NULL)
		agg_table_prefetch(t, r, s);
}

/*
 * workers == 0 with prefetch: fold the records held in stage[0], in their
 * order, prefetching the table lines of later ones (as agg_fold does). Runs
 * when the batch is full and first thing at every burst end, so no other
 * table operation (tick, scheme switch, flush, weirctl top) sees the table
 * before the records emitted ahead of it.
 */
static void
rx_inline_batch(struct dp_rx_state *st)
{
	const size_t sz = st->rx->rec_size;
	unsigned int n = st->n_stage[0], i;

	for (i = 0; i < n && i < AGG_PF_SLOT; i++)
		rx_inline_prefetch(st, n, i, 0);
	for (i = 0; i < n; i++) {
		rx_inline_prefetch(st, n, i + AGG_PF_SLOT, 0);
		rx_inline_prefetch(st, n, i + AGG_PF_DEV, 1);
		rx_inline_prefetch(st, n, i + AGG_PF_WIN, 2);
		rx_inline(st, (const struct wr_record *)(st->stage[0] + i * sz));
	}
	st->n_stage[0] = 0;
}

/* dp_emit_fn: a valid record from a decoder. */
static void
rx_emit(struct dp_decode_out *out, struct wr_record *r)
{
	struct dp_rx_state *st = (struct dp_rx_state *)out;
	struct dp_rx *rx = st->rx;
	int64_t t = rx->time_arrival ? st->arrival_ns : r->time_ns;
	int64_t k_last, k_first, k_open, size = st->size, slide = st->slide, k_min = INT64_MIN;
	unsigned int w, par = st->par;

	st->emitted++;
	if (t - st->tun->lateness_ns > st->w)
		st->w = t - st->tun->lateness_ns;
	st->last_valid_arrival = st->arrival_ns;
	st->w_at_last_valid = st->w;
	st->have_valid = 1;
	if (t > st->t_max)
		st->t_max = t;
	if (unlikely(t >= st->b)) {
		/* new scheme: only its windows that start at or after b */
		size = st->size_nxt;
		slide = st->slide_nxt;
		par ^= 1u;
		k_min = st->b / slide;
	} else if (unlikely(st->b_done != INT64_MIN)) {
		/* b_done is a multiple of this scheme's slide */
		if (t < st->b_done) {
			rx->ctr->v[WR_CTR_REC_LATE]++;
			return;
		}
		k_min = st->b_done / slide;
	}

	k_last = agg_floor_div(t, slide);
	if (k_last * slide + size <= st->w) {
		rx->ctr->v[WR_CTR_REC_LATE]++;
		return;
	}
	k_first = agg_floor_div(t - size, slide) + 1;
	k_open = agg_floor_div(st->w - size, slide) + 1;
	r->time_ns = t;
	r->watermark_ns = st->w;
	r->first_k = k_first > k_open ? k_first : k_open;
	if (r->first_k < k_min)
		r->first_k = k_min;
	r->pad[0] = (uint8_t)par;
	r->pad[1] = 0;
	r->rx_tsc = st->burst_tsc;
	r->hash = agg_devkey_hash(r->id, r->id_len);
	rx->ctr->v[WR_CTR_REC_ROUTED]++;

	if (rx->n_workers == 0) {
		if (!st->inline_pf) {
			rx_inline(st, r);
			return;
		}
		/* r is the decoder's scratch: keep a copy until the batch folds */
		memcpy(st->stage[0] + st->n_stage[0] * rx->rec_size, r, rx->rec_size);
		if (++st->n_stage[0] == RX_STAGE)
			rx_inline_batch(st);
		return;
	}
	w = rx->n_workers == 1 ? 0 : (r->hash >> 16) % rx->n_workers;
	memcpy(st->stage[w] + st->n_stage[w] * rx->rec_size, r, rx->rec_size);
	st->w_sent[w] = st->w;
	if (++st->n_stage[w] == RX_STAGE)
		rx_flush_worker(st, w);
}

/*
 * A datagram held rejected records: send it to the rejected topic as a
 * dead letter, at most dlq_rate a second (token bucket on the arrival
 * clock, so a replay is limited in capture time); count what is held back.
 */
static void
rx_dead_letter(struct dp_rx_state *st, const struct dp_pkt_info *info, const uint8_t *payload,
	       uint32_t plen, uint64_t n_rej)
{
	struct dp_rx *rx = st->rx;
	struct wr_dead_letter *dl = &st->dl;
	double rate = st->tun->dlq_rate, cap = rate > 1 ? rate : 1;
	unsigned int i;

	for (i = 0; i < WR_REASON_COUNT; i++) {
		uint64_t d = st->out.rejected[i] - st->rej_seen[i];

		dl->rejected[i] = d > UINT16_MAX ? UINT16_MAX : (uint16_t)d;
		st->rej_seen[i] = st->out.rejected[i];
	}
	if (rx->dlq == NULL || rate <= 0)
		return;
	if (st->dlq_last_ns == 0) {
		st->dlq_tokens = cap;
		st->dlq_last_ns = st->arrival_ns;
	} else if (st->arrival_ns > st->dlq_last_ns) {
		st->dlq_tokens += (double)(st->arrival_ns - st->dlq_last_ns) * rate / 1e9;
		if (st->dlq_tokens > cap)
			st->dlq_tokens = cap;
		st->dlq_last_ns = st->arrival_ns;
	}
	if (st->dlq_tokens < 1) {
		rx->ctr->v[WR_CTR_DLQ_HELD_BACK]++;
		return;
	}
	st->dlq_tokens -= 1;
	dl->arrival_ns = st->arrival_ns;
	dl->payload_len = plen;
	dl->records_rejected = n_rej > UINT32_MAX ? UINT32_MAX : (uint32_t)n_rej;
	dl->src_port = info->src_port;
	dl->dst_port = info->dst_port;
	dl->ip_version = info->ip_version;
	memcpy(dl->src_addr, info->src_addr, sizeof(dl->src_addr));
	dl->excerpt_len = (uint16_t)RTE_MIN(plen, (uint32_t)WR_DLQ_EXCERPT);
	if (dl->excerpt_len > 0)
		memcpy(dl->excerpt, payload, dl->excerpt_len);
	if (rte_ring_enqueue_elem(rx->dlq, dl, sizeof(*dl)) != 0)
		rx->ctr->v[WR_CTR_DLQ_HELD_BACK]++;
	else
		rx->ctr->v[WR_CTR_DLQ_SENT]++;
}

/*
 * Fragments the reassembly table gave up on (timed out, overlapping, more
 * than RTE_LIBRTE_IP_FRAG_MAX_FRAG, table full): each is one record
 * rejected "fragment", as an unreassembled fragment always was (they were
 * counted as datagrams on arrival).
 */
static void
rx_frag_dead(struct dp_rx_state *st)
{
	struct dp_rx *rx = st->rx;
	uint32_t i;

	for (i = 0; i < st->dr.cnt; i++) {
		struct rte_mbuf *d = st->dr.row[i];
		struct dp_pkt_info info;

		/* a later fragment may have lost its headers to the table: the
		 * dead letter then names no source */
		if (d->nb_segs != 1 ||
		    dp_pkt_parse(rte_pktmbuf_mtod(d, const uint8_t *), rte_pktmbuf_data_len(d),
				 rx->ports, &info) != DP_PKT_FRAGMENT)
			memset(&info, 0, sizeof(info));
		dp_record_reject(&st->out, WR_REASON_FRAGMENT);
		rx_dead_letter(st, &info, NULL, 0, 1);
	}
	rte_ip_frag_free_death_row(&st->dr, 0);
}

static void rx_whole(struct dp_rx_state *st, const struct dp_pkt_meta *meta,
		     const uint8_t *frame, uint32_t len);

/* Drop what has waited longer than the timeout (now in arrival ns). */
static void
rx_frag_expire(struct dp_rx_state *st, uint64_t now)
{
	do {
		rte_ip_frag_table_del_expired_entries(st->rx->frag_tbl, &st->dr, now);
		if (st->dr.cnt == 0)
			break;
		rx_frag_dead(st);
	} while (now == UINT64_MAX);
}

/*
 * A UDP fragment (frame, len: the received frame): a copy trimmed to the IP
 * length goes to the reassembly table (the received mbuf may be read-only
 * capture memory, and Ethernet padding must not end up inside the
 * datagram). @return 0 taken (pending, reassembled or given up on: counted
 * either way), -1 not reassemblable here (the caller rejects it).
 */
static int
rx_reassemble(struct dp_rx_state *st, struct rte_mbuf *m, const uint8_t *frame, uint32_t len,
	      const struct dp_pkt_meta *meta)
{
	struct dp_rx *rx = st->rx;
	struct rte_mbuf *c, *whole;
	uint32_t l2 = RTE_ETHER_HDR_LEN, l3, iplen;
	uint16_t type = ld_be16(frame + 12);
	uint64_t now = (uint64_t)meta->arrival_ns;
	const uint8_t *ip;
	int tags;

	/* byte loads: a frame in capture memory has no alignment */
	for (tags = 0; tags < 2 && (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ ||
				    type == RTE_ETHER_TYPE_QINQ1); tags++) {
		type = ld_be16(frame + l2 + 2);
		l2 += RTE_VLAN_HLEN;
	}
	/* dp_pkt_parse checked every length below */
	ip = frame + l2;
	if (type == RTE_ETHER_TYPE_IPV4) {
		l3 = (uint32_t)(ip[0] & 0x0f) * 4;
		iplen = ld_be16(ip + 2);
	} else if (type == RTE_ETHER_TYPE_IPV6) {
		/* DPDK reassembles a fragment header right after the fixed one */
		if (ip[6] != IPPROTO_FRAGMENT)
			return -1;
		l3 = sizeof(struct rte_ipv6_hdr) + sizeof(struct rte_ipv6_fragment_ext);
		iplen = sizeof(struct rte_ipv6_hdr) + ld_be16(ip + 4);
	} else {
		return -1;
	}
	if (l2 + iplen > len || m->nb_segs != 1)
		return -1;
	c = rte_pktmbuf_copy(m, rx->frag_pool, 0, l2 + iplen);
	if (c == NULL)
		return -1;
	c->l2_len = l2;
	c->l3_len = l3;
	if (type == RTE_ETHER_TYPE_IPV4) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(c, struct rte_ipv4_hdr *, l2);

		whole = rte_ipv4_frag_reassemble_packet(rx->frag_tbl, &st->dr, c, now, ip);
	} else {
		struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(c, struct rte_ipv6_hdr *, l2);

		whole = rte_ipv6_frag_reassemble_packet(rx->frag_tbl, &st->dr, c, now, ip,
							(void *)(ip + 1));
	}
	if (st->dr.cnt != 0)
		rx_frag_dead(st);
	if (whole != NULL) {
		uint32_t wlen = rte_pktmbuf_pkt_len(whole);
		const uint8_t *p = wlen <= DP_FRAME_MAX ?
				   rte_pktmbuf_read(whole, 0, wlen, st->big) : NULL;

		rx->ctr->v[WR_CTR_REASSEMBLED]++;
		if (p != NULL)
			rx_whole(st, meta, p, wlen);
		else
			rx->ctr->v[WR_CTR_PKT_MALFORMED]++;
		rte_pktmbuf_free(whole);
	}
	return 0;
}

/* A frame not for the sensor path: answer it if it is ARP/ND/echo for us. */
static void
rx_host(struct dp_rx *rx, const uint8_t *frame, uint32_t len)
{
	enum dp_host_reply_kind kind;
	struct rte_mbuf *r = rte_pktmbuf_alloc(rx->host_pool);
	uint32_t room, n;
	uint8_t *out;

	if (r == NULL) {
		/* only count it when there was something to answer */
		uint8_t tmp[RTE_MBUF_DEFAULT_DATAROOM];

		if (dp_host_reply(rx->host, frame, len, tmp, sizeof(tmp), &kind) != 0)
			rx->ctr->v[WR_CTR_HOST_TX_FAILED]++;
		return;
	}
	out = rte_pktmbuf_mtod(r, uint8_t *);
	room = rte_pktmbuf_tailroom(r);
	n = dp_host_reply(rx->host, frame, len, out, room, &kind);
	if (n == 0) {
		rte_pktmbuf_free(r);
		return;
	}
	r->data_len = (uint16_t)n;
	r->pkt_len = n;
	if (rte_eth_tx_burst(rx->port_id, rx->queue_id, &r, 1) == 1) {
		rx->ctr->v[WR_CTR_HOST_REPLIES]++;
	} else {
		rte_pktmbuf_free(r);
		rx->ctr->v[WR_CTR_HOST_TX_FAILED]++;
	}
}

static inline void
rx_decode(struct dp_rx_state *st, const struct dp_pkt_meta *meta, const struct dp_pkt_info *info)
{
	uint64_t rec0 = st->out.records, em0 = st->emitted, n_rej;

	dp_decode_payload(&st->tun->dcfg, meta, info->payload, info->payload_len, &st->out);
	n_rej = (st->out.records - rec0) - (st->emitted - em0);
	if (unlikely(n_rej != 0))
		rx_dead_letter(st, info, info->payload, info->payload_len, n_rej);
}

/* A reassembled datagram (its fragments were counted as datagrams). */
static void
rx_whole(struct dp_rx_state *st, const struct dp_pkt_meta *meta, const uint8_t *frame,
	 uint32_t len)
{
	struct dp_pkt_info info;

	if (dp_pkt_parse(frame, len, st->rx->ports, &info) == DP_PKT_DATAGRAM)
		rx_decode(st, meta, &info);
	else	/* cannot happen for what the table built; never silent */
		st->rx->ctr->v[WR_CTR_PKT_MALFORMED]++;
}

/*
 * Burst-wide prefetch: the mbufs arrive cold from the feeder's (or the
 * PMD's) core. Two stages so that the mbuf is in cache before its data
 * pointer is read: mbuf (both lines: the dynfield sits in the second)
 * RX_PF_MBUF packets ahead, then the first two lines of the frame
 * (headers and the start of the payload) RX_PF_DATA packets ahead.
 */
#define RX_PF_MBUF	8
#define RX_PF_DATA	4

static inline void
rx_prefetch_mbuf(const struct rte_mbuf *m)
{
	rte_prefetch0(m);
	rte_prefetch0(RTE_PTR_ADD(m, RTE_CACHE_LINE_SIZE));
}

static inline void
rx_prefetch_data(const struct rte_mbuf *m)
{
	const char *d = rte_pktmbuf_mtod(m, const char *);

	rte_prefetch0(d);
	rte_prefetch0(d + RTE_CACHE_LINE_SIZE);
}

static inline void
rx_prefetch_burst(struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n && i < RX_PF_MBUF; i++)
		rx_prefetch_mbuf(pkts[i]);
	for (i = 0; i < n && i < RX_PF_DATA; i++)
		rx_prefetch_data(pkts[i]);
}

static inline void
rx_prefetch_ahead(struct rte_mbuf **pkts, uint16_t n, uint16_t i)
{
	if (i + RX_PF_MBUF < n)
		rx_prefetch_mbuf(pkts[i + RX_PF_MBUF]);
	if (i + RX_PF_DATA < n)
		rx_prefetch_data(pkts[i + RX_PF_DATA]);
}

static inline void
rx_packet(struct dp_rx_state *st, struct rte_mbuf *m)
{
	struct dp_rx *rx = st->rx;
	struct dp_pkt_info info;
	struct dp_pkt_meta meta;
	uint8_t linear[RTE_MBUF_DEFAULT_BUF_SIZE];
	const uint8_t *frame;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (rx->replay) {
		const struct dp_replay_meta *rm =
			RTE_MBUF_DYNFIELD(m, rx->dynfield_off, const struct dp_replay_meta *);

		meta.arrival_ns = rm->arrival_ns;
		meta.shift_ns = rm->shift_ns;
		rx_idle_advance(st, meta.arrival_ns);
	} else {
		meta.arrival_ns = st->arrival_ns;
		meta.shift_ns = 0;
	}
	st->arrival_ns = meta.arrival_ns;
	rx->ctr->v[WR_CTR_PKT_RX]++;

	if (m->nb_segs == 1) {
		frame = rte_pktmbuf_mtod(m, const uint8_t *);
	} else {
		/* chained jumbo frame: parse needs it contiguous */
		if (len > sizeof(linear))
			len = sizeof(linear);
		frame = rte_pktmbuf_read(m, 0, len, linear);
		if (frame == NULL) {
			rx->ctr->v[WR_CTR_PKT_MALFORMED]++;
			return;
		}
	}
	switch (dp_pkt_parse(frame, len, rx->ports, &info)) {
	case DP_PKT_DATAGRAM:
		rx->ctr->v[WR_CTR_DATAGRAMS]++;
		rx_decode(st, &meta, &info);
		break;
	case DP_PKT_FRAGMENT:
		rx->ctr->v[WR_CTR_DATAGRAMS]++;
		if (rx->frag_tbl != NULL && rx_reassemble(st, m, frame, len, &meta) == 0)
			break;
		dp_record_reject(&st->out, WR_REASON_FRAGMENT);
		rx_dead_letter(st, &info, NULL, 0, 1);
		break;
	case DP_PKT_IGNORED:
		rx->ctr->v[WR_CTR_PKT_IGNORED]++;
		if (unlikely(rx->host != NULL))
			rx_host(rx, frame, len);
		break;
	default:
		rx->ctr->v[WR_CTR_PKT_MALFORMED]++;
		break;
	}
}

static void rx_burst_end(struct dp_rx_state *st);

/* Close every open window of every live table (workers == 0); final: end of input. */
static void
rx_inline_flush(struct dp_rx_state *st, int final)
{
	struct wr_record mark = { .kind = final ? WR_REC_FLUSH : WR_REC_CLOSE,
				  .watermark_ns = st->w };
	unsigned int p;

	agg_ckpt_before(st->rx->inline_ckpt, st->itab[st->par], &mark);

	for (p = 0; p < 2; p++)
		if (st->itab[p] != NULL)
			agg_table_flush(st->itab[p], agg_stage_emit, &st->inline_stage);
	agg_stage_flush(&st->inline_stage);
}

/*
 * A snapshot asks for a new window scheme: fix the boundary past every time
 * judged so far (or past now when none was) and publish it before the ack.
 */
static void
rx_switch_start(struct dp_rx_state *st, const struct dp_tunables *t)
{
	struct dp_rx *rx = st->rx;
	int64_t tm = st->t_max, b;

	if (tm == INT64_MIN)	/* nothing judged yet: the clock (capture time in replay) */
		tm = rx->replay ? st->arrival_ns : RTE_MAX(st->arrival_ns, wall_ns());
	b = st->b == INT64_MAX && t->size_new > 0 && t->slide_new > 0 ?
	    dp_switch_boundary(tm, st->slide, t->slide_new) : INT64_MAX;
	if (b != INT64_MAX) {
		st->size_nxt = t->size_new;
		st->slide_nxt = t->slide_new;
		st->b = b;
		if (rx->n_workers == 0)
			st->itab[st->par ^ 1u] = atomic_load_explicit(&rx->inline_next,
								      memory_order_acquire);
	}
	atomic_store_explicit(&rx->switch_at_ns, b, memory_order_relaxed);
}

/*
 * W passed the end of the last old window (the one ending b - D + S): no
 * record can join the old scheme any more. Retire it everywhere.
 */
static void
rx_switch_end(struct dp_rx_state *st)
{
	struct dp_rx *rx = st->rx;
	unsigned int w, old = st->par;
	int64_t end;

	if (likely(st->b == INT64_MAX))
		return;
	if (__builtin_add_overflow(st->b - st->slide, st->size, &end) || st->w < end)
		return;
	if (rx->n_workers == 0) {
		struct wr_record tick = { .kind = WR_REC_TICK, .watermark_ns = st->w };

		agg_ckpt_retire(rx->inline_ckpt, st->itab[old ^ 1u]);
		agg_table_process(st->itab[old], &tick, agg_stage_emit, &st->inline_stage);
		agg_table_flush(st->itab[old], agg_stage_emit, &st->inline_stage);
		atomic_store_explicit(&rx->inline_retired, st->itab[old], memory_order_release);
		st->itab[old] = NULL;
	} else {
		for (w = 0; w < rx->n_workers; w++) {
			struct wr_record *r = rx_stage_control(st, w, WR_REC_TICK);

			r->pad[0] = (uint8_t)(old ^ 1u);
			r->pad[1] = AGG_REC_RETIRE;
		}
	}
	st->size = st->size_nxt;
	st->slide = st->slide_nxt;
	st->par = old ^ 1u;
	st->b_done = st->b;
	st->b = INT64_MAX;
	atomic_store_explicit(&rx->win_done, st->win_gen, memory_order_release);
}

/* Between bursts: adopt a newly published tunables snapshot, serve a flush. */
static void
rx_control(struct dp_rx_state *st)
{
	struct dp_rx *rx = st->rx;
	const struct dp_tunables *t = atomic_load_explicit(&rx->tun, memory_order_acquire);
	uint64_t f;

	if (t != st->tun) {
		st->tun = t;
		if (t->win_gen != st->win_gen) {
			st->win_gen = t->win_gen;
			rx_switch_start(st, t);
		}
		atomic_store_explicit(&rx->tun_ack, (struct dp_tunables *)t, memory_order_release);
	}
	if (rx->n_workers == 0) {
		f = atomic_load_explicit(&rx->top.req, memory_order_acquire);
		if (f != st->top_seen) {
			st->top_seen = f;
			agg_top_serve(&rx->top, f, st->itab[st->par]);
		}
	}
	f = atomic_load_explicit(&rx->flush_req, memory_order_acquire);
	if (f == st->flush_seen)
		return;
	st->flush_seen = f;
	rx->ctr->v[WR_CTR_FLUSHES]++;
	rx_burst_end(st);
	if (rx->n_workers == 0)
		rx_inline_flush(st, 0);
	else
		rx_send_kind(st, WR_REC_CLOSE);
}

/*
 * Several RX queues: stay within skew_ns of the highest queue watermark.
 * Aggregators close a window only when every queue's watermark passed it,
 * so a queue that sees little traffic would otherwise keep them open.
 * Raising W only makes this queue judge more records late, with the W its
 * records carry: still consistent with what the aggregators closed.
 */
static inline void
rx_peer_raise(struct dp_rx_state *st)
{
	struct dp_rx *rx = st->rx;
	int64_t hi = INT64_MIN, v;
	unsigned int q;

	for (q = 0; q < rx->n_peers; q++) {
		v = atomic_load_explicit(&rx->peers[q].watermark_ns, memory_order_relaxed);
		if (v > hi)
			hi = v;
	}
	if (!__builtin_sub_overflow(hi, rx->skew_ns, &v) && v > st->w) {
		st->w = v;
		rx->ctr->v[WR_CTR_WM_RAISED]++;
	}
}

/* End of burst: push staged records and tell idle workers the new watermark. */
static void
rx_burst_end(struct dp_rx_state *st)
{
	struct dp_rx *rx = st->rx;
	unsigned int w, i;

	if (rx->n_workers == 0 && st->n_stage[0] != 0)
		rx_inline_batch(st);
	if (rx->n_peers > 1)
		rx_peer_raise(st);

	for (i = 0; i < WR_REASON_COUNT; i++) {
		if (st->out.rejected[i] != 0) {
			rx->ctr->rejected[i] += st->out.rejected[i];
			st->out.rejected[i] = 0;
			st->rej_seen[i] = 0;
		}
	}
	atomic_store_explicit(&rx->watermark_ns, st->w, memory_order_relaxed);
	rx_switch_end(st);
	if (rx->n_workers == 0) {
		if (st->w_sent[0] != st->w) {
			struct wr_record tick = { .kind = WR_REC_TICK, .watermark_ns = st->w };

			rx_inline(st, &tick);
			st->w_sent[0] = st->w;
		}
		agg_stage_flush(&st->inline_stage);
		atomic_store_explicit(&rx->inline_devices,
				      agg_table_devices(st->itab[st->par]) +
				      (st->itab[st->par ^ 1u] != NULL ?
				       agg_table_devices(st->itab[st->par ^ 1u]) : 0),
				      memory_order_relaxed);
		return;
	}
	for (w = 0; w < rx->n_workers; w++) {
		if (st->w_sent[w] != st->w)
			rx_stage_control(st, w, WR_REC_TICK);
		if (st->n_stage[w] != 0)
			rx_flush_worker(st, w);
	}
}

/*
 * Every ckpt_interval_ns of the RX clock (capture time in replay, wall
 * clock live, as idle_timeout): a consistent cut. Each table owner gets a
 * WR_REC_CHECKPOINT in capture order, behind every record judged before it,
 * and saves its windows with the watermark state the record carries.
 */
static void
rx_checkpoint(struct dp_rx_state *st, int64_t clock)
{
	struct dp_rx *rx = st->rx;
	struct wr_ckpt_rx ck;
	unsigned int w;

	if (likely(rx->ckpt_interval_ns == 0 || clock < st->ckpt_next))
		return;
	if (st->ckpt_next == INT64_MIN) {
		st->ckpt_next = clock + rx->ckpt_interval_ns;
		return;
	}
	st->ckpt_next = clock + rx->ckpt_interval_ns;
	if (st->b != INT64_MAX)
		return;	/* a window scheme change is under way: two tables, next time */
	memset(&ck, 0, sizeof(ck));
	ck.seq = ++st->ckpt_seq;
	ck.w = st->w;
	ck.t_max = st->t_max;
	ck.last_valid_arrival = st->last_valid_arrival;
	ck.w_at_last_valid = st->w_at_last_valid;
	ck.have_valid = (uint32_t)st->have_valid;
	if (rx->n_workers == 0) {
		/* records still batched for the table belong before the cut */
		if (st->n_stage[0] != 0)
			rx_inline_batch(st);
		if (rx->inline_ckpt != NULL)
			agg_ckpt_write(rx->inline_ckpt, st->itab[st->par], &ck);
		return;
	}
	for (w = 0; w < rx->n_workers; w++) {
		struct wr_record *r = rx_stage_control(st, w, WR_REC_CHECKPOINT);

		memcpy(r->id, &ck, sizeof(ck));
		rx_flush_worker(st, w);
	}
}

/* End of input: close every window everywhere. */
static void
rx_finish(struct dp_rx_state *st)
{
	struct dp_rx *rx = st->rx;

	if (rx->frag_tbl != NULL)	/* what never completed is rejected "fragment" */
		rx_frag_expire(st, UINT64_MAX);
	rx_burst_end(st);
	if (rx->n_workers == 0) {
		rx_inline_flush(st, 1);
		atomic_fetch_add_explicit(rx->producers_done, 1, memory_order_release);
		return;
	}
	rx_send_kind(st, WR_REC_FLUSH);
}

int
dp_rx_init(struct dp_rx *rx)
{
	struct dp_rx_state *st;
	unsigned int w, nw = rx->n_workers ? rx->n_workers : 1;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->rx = rx;
	st->out.emit = rx_emit;
	st->tun = atomic_load(&rx->tun);
	atomic_store(&rx->tun_ack, (struct dp_tunables *)st->tun);
	st->flush_seen = atomic_load(&rx->flush_req);
	st->top_seen = atomic_load(&rx->top.req);
	st->w = INT64_MIN;
	st->size = rx->size_ns;
	st->slide = rx->slide_ns;
	st->b = INT64_MAX;
	st->b_done = INT64_MIN;
	st->t_max = INT64_MIN;
	st->win_gen = st->tun->win_gen;
	st->itab[0] = rx->inline_table;
	st->inline_pf = rx->n_workers == 0 && agg_prefetch_wanted();
	st->ckpt_next = INT64_MIN;
	if (rx->restore != NULL) {
		/* judge records as the crashed run did at its last checkpoint */
		st->w = rx->restore->w;
		st->t_max = rx->restore->t_max;
		st->last_valid_arrival = rx->restore->last_valid_arrival;
		st->w_at_last_valid = rx->restore->w_at_last_valid;
		st->have_valid = rx->restore->have_valid != 0;
		st->ckpt_seq = rx->restore->seq;
		atomic_store(&rx->watermark_ns, st->w);
	}
	if (rx->frag_tbl != NULL) {
		st->big = malloc(DP_FRAME_MAX);
		if (st->big == NULL)
			goto fail;
	}
	st->stage = calloc(nw, sizeof(*st->stage));
	st->n_stage = calloc(nw, sizeof(*st->n_stage));
	st->w_sent = calloc(nw, sizeof(*st->w_sent));
	if (st->stage == NULL || st->n_stage == NULL || st->w_sent == NULL)
		goto fail;
	for (w = 0; w < nw; w++) {
		st->w_sent[w] = INT64_MIN;
		st->stage[w] = aligned_alloc(64, RTE_ALIGN_CEIL(RX_STAGE * rx->rec_size, 64));
		if (st->stage[w] == NULL)
			goto fail;
	}
	if (rx->n_workers == 0 &&
	    agg_stage_init(&st->inline_stage, rx->inline_out, rx->res_size) != 0)
		goto fail;
	if (rx->n_workers == 0)
		st->inline_stage.closed = &rx->ctr->v[WR_CTR_REC_CLOSED];
	rx->st = st;
	return 0;
fail:
	rx->st = st;
	dp_rx_free(rx);
	return -ENOMEM;
}

void
dp_rx_free(struct dp_rx *rx)
{
	struct dp_rx_state *st = rx->st;
	unsigned int w, nw = rx->n_workers ? rx->n_workers : 1;

	if (st == NULL)
		return;
	for (w = 0; st->stage != NULL && w < nw; w++)
		free(st->stage[w]);
	free(st->stage);
	free(st->n_stage);
	free(st->w_sent);
	free(st->big);
	if (rx->n_workers == 0)
		agg_stage_free(&st->inline_stage);
	free(st);
	rx->st = NULL;
}

int
dp_rx_loop(void *arg)
{
	struct dp_rx *rx = arg;
	struct dp_rx_state *st = rx->st;
	struct rte_mbuf *pkts[RX_BURST_MAX];
	unsigned int burst = RTE_MIN(rx->burst, (unsigned int)RX_BURST_MAX);
	uint64_t idle_polls = 0, idle_check_tsc = 0;
	int done_seen = 0;
	const uint64_t idle_check_every = rte_get_tsc_hz() / 100;	/* 10 ms */

	for (;;) {
		uint16_t n, i;

		if (!rx->replay && atomic_load_explicit(rx->quit, memory_order_acquire))
			break;
		rx_control(st);
		n = rte_eth_rx_burst(rx->port_id, rx->queue_id, pkts, (uint16_t)burst);
		st->burst_tsc = rte_rdtsc();
		if (n == 0) {
			rx->ctr->v[WR_CTR_POLLS_IDLE]++;
			if (rx->replay) {
				/* the feeder sets input_done after its last enqueue: one
				 * more empty poll after seeing it means all is read */
				if (done_seen)
					break;
				done_seen = atomic_load_explicit(rx->input_done,
								 memory_order_acquire);
				/* a quiet queue still follows the others (rx_peer_raise) */
				if (rx->n_peers > 1 &&
				    st->burst_tsc - idle_check_tsc > idle_check_every) {
					idle_check_tsc = st->burst_tsc;
					rx_burst_end(st);
				}
			} else if (st->burst_tsc - idle_check_tsc > idle_check_every) {
				int64_t now = wall_ns();

				idle_check_tsc = st->burst_tsc;
				rx_idle_advance(st, now);
				if (rx->frag_tbl != NULL)
					rx_frag_expire(st, (uint64_t)now);
				rx_burst_end(st);
				rx_checkpoint(st, now);
			}
			/* oversubscribed lcores (replay on 2 CPUs): let the others run */
			if (++idle_polls > 64)
				rte_delay_us_sleep(50);
			continue;
		}
		idle_polls = 0;
		rx->ctr->v[WR_CTR_POLLS_BUSY]++;
		if (!rx->replay) {
			st->arrival_ns = wall_ns();
			rx_idle_advance(st, st->arrival_ns);
		}
		rx_prefetch_burst(pkts, n);
		for (i = 0; i < n; i++) {
			rx_prefetch_ahead(pkts, n, i);
			rx_packet(st, pkts[i]);
		}
		rte_pktmbuf_free_bulk(pkts, n);
		if (rx->frag_tbl != NULL)
			rx_frag_expire(st, (uint64_t)st->arrival_ns);
		rx_burst_end(st);
		rx_checkpoint(st, st->arrival_ns);
	}
	rx_finish(st);
	return 0;
}
