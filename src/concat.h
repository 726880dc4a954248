/*
 * concat.h: the cancellable form of vs_concat for the command line, which
 * stops on SIGINT/SIGTERM and shows which part it is copying.
 */
#ifndef VS_CONCAT_H
#define VS_CONCAT_H

#include <stdatomic.h>
#include <signal.h>

#include "vstudio.h"

typedef struct vs_concat_job {
    const atomic_int *stop;            /* non-zero: give up (removes the temporary) */
    void (*on_part)(void *ctx, int index, int n); /* called before part index (0-based) is copied */
    void *ctx;
    int partial;                       /* segments of a render may leave out its first or last frames */
    const char *audio_codec;           /* the joined sound's encoder; NULL: aac (mp4, mov), libopus (webm, mkv) */
    int64_t audio_bit_rate;            /* bits/s; 0: the codec's default */
} vs_concat_job;

/*
 * The encoder settings a join must agree on travel with each part as one
 * "key=value ..." string in a tag of its video stream: encode.c writes it,
 * the check pass here compares it, because VP9 and MPEG-4 headers do not
 * record quality. MP4 and MOV keep no free-form stream tags, only the
 * track's handler name, so there the string goes into handler_name behind
 * the prefix "vstudio_encoder "; MOV stores that name with a one-byte
 * length, hence VS_SETTINGS_MAX.
 */
#define VS_SETTINGS_TAG "vstudio_encoder"
#define VS_SETTINGS_MAX 230
struct AVFormatContext;
struct AVStream;
struct AVOutputFormat;
/* Tags st (about to be muxed by of) with settings; 0, or -1 when out of memory. */
int vs_settings_tag_set(struct AVStream *st, const struct AVOutputFormat *of, const char *settings);
/* The settings a part's video stream carries, or NULL (not made by vstudio). */
const char *vs_settings_tag_get(const struct AVStream *st);

/*
 * A part that `vstudio run --frames A:B` or `--segment K/N` writes says
 * which piece of which render it is, in words after the encoder settings
 * of the same tag: "segment=K/N" (only for --segment), "frames=A:B/T"
 * (frames A..B-1 of a clip of T) and "render=<16 hex digits>" (a digest of
 * the script, its arguments and the run's settings). The encoder settings
 * are what every part of a join must share; the record is what tells the
 * parts apart, so concat can refuse missing, repeated, misordered and
 * foreign parts.
 */
typedef struct vs_segment_record {
    int index, count;          /* K/N of --segment; 0/0 for --frames A:B */
    int64_t first, end, total; /* frames [first, end) of a clip of total */
    uint64_t render;           /* digest of script, arguments and settings */
} vs_segment_record;
/* Appends rec's words (" segment=K/N frames=A:B/T render=HEX") to the
 * settings string in buf; returns the length it needed, as snprintf does. */
size_t vs_segment_format(char *buf, size_t size, const vs_segment_record *rec);
/* Splits a settings tag: the encoder settings without the record go to
 * settings (size bytes), the record to *rec. Returns 1 with a record, 0
 * without one, -1 when the record's words are malformed or contradict
 * each other (then *rec is zeroed). */
int vs_settings_parse(const char *tag, char *settings, size_t size, vs_segment_record *rec);


int vs_concat_run(const char *out, const char *const *parts, int n_parts, const vs_concat_job *job,
                  vs_concat_result *result);

#endif
