/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Payload decoders (SPEC §3): JSON, InfluxDB line protocol, SNR1 binary.
 * Pure functions over bytes, run on the RX lcore: no allocation, no
 * syscalls, no logging. Every record found is either emitted (valid) or
 * counted in out->rejected[reason].
 */
#ifndef DP_DECODE_H
#define DP_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wr_types.h"
#include "cfg.h"

/*
 * Which implementation the JSON and Influx decoders run. Both give the same
 * records, values (bit for bit), reasons and counters (tests/unit/
 * test_decode_paths.c and the fuzz targets check it): FAST takes the
 * shortcuts (common JSON layout, exact decimal arithmetic) and falls back
 * to the PLAIN code whenever it meets anything else; PLAIN is the
 * reference (full grammar, strtod for every number).
 */
enum dp_path {
	DP_PATH_FAST = 0,
	DP_PATH_PLAIN,
};

/* Keys the decoders look up: id fields, "ts"/"timestamp", metrics. */
#define DP_KEYS_MAX	(WR_METRICS_MAX + CFG_ID_FIELDS_MAX + 2)
#define DP_KEYS_HASH	128	/* buckets, a power of two */

struct dp_key {
	char name[CFG_NAME_MAX];	/* NUL terminated */
	uint8_t len;
	int8_t id;			/* priority in device_id_fields, or -1 */
	int8_t ts;			/* 0 "ts", 1 "timestamp", or -1 */
	int8_t metric;			/* metric index, or -1 */
	uint8_t next;			/* index + 1 of the next key in the bucket, 0: none */
};

/* Hash table of struct dp_key (dp_decode_cfg_index); n == 0: not built. */
struct dp_key_tab {
	unsigned int n;
	unsigned int n_metrics;		/* the name counts it was built from */
	unsigned int n_id_fields;
	uint8_t head[DP_KEYS_HASH];	/* index + 1 of a bucket's first key, 0: empty */
	struct dp_key key[DP_KEYS_MAX];
};

/* Immutable view of the config the decoders need, built once at start. */
struct dp_decode_cfg {
	unsigned int n_metrics;
	char metric[WR_METRICS_MAX][CFG_NAME_MAX];	/* NUL terminated */
	uint8_t metric_len[WR_METRICS_MAX];
	double min[WR_METRICS_MAX];			/* -inf when unbounded */
	double max[WR_METRICS_MAX];			/* +inf when unbounded */
	unsigned int n_id_fields;
	char id_field[CFG_ID_FIELDS_MAX][CFG_NAME_MAX];	/* NUL terminated */
	uint8_t id_field_len[CFG_ID_FIELDS_MAX];
	enum cfg_encoding encoding;			/* AUTO = detect per datagram */
	enum cfg_ts_unit json_ts_unit;
	enum cfg_ts_unit influx_precision;		/* AUTO means ns */
	int64_t max_future_ns;
	enum dp_path path;				/* FAST unless a test asks */
	struct dp_key_tab keys;				/* for the fast paths */
};

/* Per-datagram facts. */
struct dp_pkt_meta {
	int64_t arrival_ns;	/* epoch ns: wall clock live, capture time in replay (shifted) */
	int64_t shift_ns;	/* replay --loop: added to every decoded event time */
};

struct dp_decode_out;
typedef void (*dp_emit_fn)(struct dp_decode_out *out, struct wr_record *rec);

/* Where decoders put what they found. The caller owns it. */
struct dp_decode_out {
	dp_emit_fn emit;			/* called once per valid record */
	void *arg;				/* for emit */
	uint64_t records;			/* every record seen, valid or not */
	uint64_t rejected[WR_REASON_COUNT];	/* per reason */
	struct wr_record scratch;		/* decoders build records here */
};

/* What a decoder extracted from one record, before the common checks. */
enum dp_field_state { DP_ABSENT = 0, DP_PRESENT, DP_BAD };

struct dp_fields {
	enum dp_field_state id_state;	/* BAD: present but null / not a string / ... */
	const uint8_t *id;		/* when PRESENT: raw bytes (may be > 64: checked later) */
	size_t id_len;
	enum dp_field_state ts_state;	/* BAD: not a valid time */
	int64_t ts_ns;			/* when PRESENT: epoch ns (>= 0), before shift */
	int bad_value;			/* a configured metric had NaN / infinity */
	uint64_t present;		/* bit i: values[i] set */
	double *values;			/* = out->scratch.values */
};

/**
 * Common record checks, in order: device id (missing/bad: 1..64 bytes,
 * valid UTF-8), timestamp (bad/future), no_metrics, out_of_range. On
 * success fills out->scratch (id, time_ns = event time + shift or the
 * arrival time, present, values) and calls out->emit; else counts the
 * reason. Always counts out->records.
 * @return WR_REASON_NONE when emitted, else the reason counted.
 */
int dp_record_finish(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		     struct dp_fields *f, struct dp_decode_out *out);

/** Count one rejected record (and out->records). */
static inline void
dp_record_reject(struct dp_decode_out *out, enum wr_reason reason)
{
	out->records++;
	out->rejected[reason]++;
}

/** Reset fields for a new record (values point at out->scratch). */
void dp_fields_init(struct dp_fields *f, struct dp_decode_out *out);

/**
 * Epoch time from an integer in the given unit (AUTO: by magnitude,
 * < 1e11 s, < 1e14 ms, < 1e17 us, else ns).
 * @return 0, or -1 when negative or beyond int64 ns.
 */
int dp_time_from_int(int64_t v, enum cfg_ts_unit unit, int64_t *ns);
/** Same for a floating point value (JSON 1.7e9, 1732233600.5). */
int dp_time_from_double(double v, enum cfg_ts_unit unit, int64_t *ns);

/** Index of a configured metric by name, or -1. */
int dp_metric_index(const struct dp_decode_cfg *cfg, const uint8_t *name, size_t len);
/** Index of a device id field by name (its priority), or -1. */
int dp_id_field_index(const struct dp_decode_cfg *cfg, const uint8_t *name, size_t len);

/** 1 when the bytes are valid UTF-8 (no overlongs, no surrogates). */
int dp_utf8_valid(const uint8_t *p, size_t n);

/** Build the decode view from the config (dp_decode_cfg_index included). */
void dp_decode_cfg_init(struct dp_decode_cfg *dc, const struct weir_config *c);

/**
 * Build dc->keys from the names already in dc. Without it (keys.n == 0)
 * the decoders run their plain paths only.
 */
void dp_decode_cfg_index(struct dp_decode_cfg *dc);

/**
 * 1 when the fast paths may use dc->keys: built, and from as many names as
 * dc now holds (a caller that adds names must index again).
 */
static inline int
dp_keys_ready(const struct dp_decode_cfg *dc)
{
	return dc->path == DP_PATH_FAST && dc->keys.n != 0 &&
	       dc->keys.n_metrics == dc->n_metrics && dc->keys.n_id_fields == dc->n_id_fields;
}

/** Bucket of a key in struct dp_key_tab (n >= 1). */
static inline unsigned int
dp_key_hash(const uint8_t *k, size_t n)
{
	return ((unsigned int)k[0] * 3 + (unsigned int)k[n - 1] * 5 + (unsigned int)n * 11) &
	       (DP_KEYS_HASH - 1);
}

/** The configured key named [k, k + n) (n >= 1), or NULL. */
static inline const struct dp_key *
dp_key_find(const struct dp_key_tab *t, const uint8_t *k, size_t n)
{
	unsigned int i = t->head[dp_key_hash(k, n)];

	while (i != 0) {
		const struct dp_key *key = &t->key[i - 1];

		if (key->len == n) {
			size_t j = 0;
			uint64_t a, b;

			/* word at a time: libc memcmp is a call per key */
			for (; j + 8 <= n; j += 8) {
				memcpy(&a, key->name + j, sizeof(a));
				memcpy(&b, k + j, sizeof(b));
				if (a != b)
					break;
			}
			if (j + 8 > n) {
				for (; j < n; j++)
					if ((uint8_t)key->name[j] != k[j])
						break;
				if (j == n)
					return key;
			}
		}
		i = key->next;
	}
	return NULL;
}

/**
 * Correctly rounded double of a decimal token [s, s + n): an optional '-',
 * digits with at most one '.' (at least one digit in all), then an optional
 * exponent [eE][+-]?digits. The whole token must match; any length.
 * Fast path: up to 19 significant digits as an exact uint64 and a power of
 * ten within 10^+-27 are rounded exactly by integer arithmetic (Clinger's
 * one multiply or divide when both operands are exact doubles); anything
 * else goes to strtod on a bounded NUL-terminated copy. Overflow gives
 * +-inf, underflow +-0.
 * @return 0, or -1 when the token does not match.
 */
int dp_decimal_parse(const uint8_t *s, size_t n, double *v);

/**
 * The fast path alone: the double nearest to -1^neg * m * 10^exp10, for m
 * of at most 19 decimal digits.
 * @return 0, or -1 when out of its range (then use dp_decimal_parse).
 */
int dp_decimal_exact(uint64_t m, int64_t exp10, int neg, double *v);

/** Same value, always through strtod: the plain path and the reference. */
int dp_decimal_parse_plain(const uint8_t *s, size_t n, double *v);

/*
 * The decoders. Each handles one whole UDP payload (n >= 1 bytes; the
 * empty payload is handled by dp_decode_payload).
 */
void dp_decode_json(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		    const uint8_t *p, size_t n, struct dp_decode_out *out);
void dp_decode_influx(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		      const uint8_t *p, size_t n, struct dp_decode_out *out);
void dp_decode_snr1(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		    const uint8_t *p, size_t n, struct dp_decode_out *out);

/**
 * Detect the encoding (SNR1 magic, first non-blank '{' or '[' = JSON, else
 * line protocol) unless pinned, and decode. An empty (or all-blank)
 * payload is one rejected record.
 */
void dp_decode_payload(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		       const uint8_t *p, size_t n, struct dp_decode_out *out);

#endif /* DP_DECODE_H */
