/*
 * probe.h: what probe.c and cache.c share with decode.c: the frame index
 * of a video (every frame's presentation timestamp in display order and
 * whether its packet is a keyframe), found by the same packet scan that
 * counts the frames and kept in the probe cache beside the metadata.
 */
#ifndef VS_PROBE_H
#define VS_PROBE_H

#include <stdint.h>
#include <sys/stat.h>

#include "vstudio.h"

typedef struct vs_index {
    int64_t n;         /* frames (== vs_probe_info.frames) */
    int64_t *pts;      /* n timestamps (stream time base), ascending: frame i's pts */
    int64_t *dts;      /* n: the decode timestamp of frame i's packet (its pts when the
                        * container gives none): what av_seek_frame seeks by */
    uint8_t *key;      /* n flags: 1 when frame i comes from a keyframe packet */
} vs_index;

void vs_index_free(vs_index *index);

/* Opens path with libavformat (stream info read) and finds its video
 * stream; the errors name the file and say why in the user's words.
 * libavformat reads through a descriptor we opened, so *st (may be NULL)
 * is the fstat of the very file that is read, whatever happens to the
 * path meanwhile. Close with vs_probe_close_input. */
struct AVFormatContext;
int vs_probe_open_input(const char *path, struct AVFormatContext **fmt, int *stream, struct stat *st);
void vs_probe_close_input(struct AVFormatContext **fmt);
/* The same open without choosing a stream (audio_source.c picks its own);
 * kind names what was expected in the message ("video", "audio"). */
int vs_probe_open_media(const char *path, const char *kind, struct AVFormatContext **fmt, struct stat *st);

/* 0 when the file's data holds every frame of stream st that its index
 * lists (each sample's offset + size within the file: a faststart MP4 cut
 * short still has its whole index, and the message says how many frames
 * the data holds), or, without a complete index (Matroska, AVI), when the
 * packets after the last indexed one read to a clean end that reaches the
 * header's duration. Fails naming path and how much is missing. Reads from
 * fmt: seek or reopen afterwards. The one check for probe, convert's resume
 * and concat's parts. */
struct AVStream;
int vs_media_check_complete(struct AVFormatContext *fmt, const struct AVStream *st, const char *path);

/* What vs_probe_index hands out as *index. */
typedef enum vs_index_need {
    VS_INDEX_NONE,     /* no index */
    VS_INDEX_AT_HAND,  /* the index when the cache or the count had it, else NULL */
    VS_INDEX_BUILD,    /* the index, scanning the packets for it when needed */
} vs_index_need;

/* vs_probe that also hands out the frame index (*index may be NULL when the
 * stream's packets carry no usable timestamps, or with VS_INDEX_AT_HAND
 * when it was not at hand). index may be NULL with VS_INDEX_NONE. */
int vs_probe_index(const char *path, int use_cache, vs_probe_info *info, vs_index **index, vs_index_need need);

/* ---- cache.c: the SQLite probe cache ----
 * One connection per thread (opened on first use, closed when the thread
 * exits). Every failure is a warning on stderr at most: the caller then
 * works uncached. A row is keyed by path and checked against the file's
 * device, inode, size, mtime and ctime. lookup returns 1 on a hit, 0
 * otherwise; with index non-NULL it also hands out the stored index (NULL
 * when the stream has none, or when the row was stored without one and
 * need is VS_INDEX_AT_HAND); with VS_INDEX_BUILD a row stored without an
 * index is a miss. */
int vs_cache_lookup(const char *abspath, const struct stat *st, vs_probe_info *info, vs_index **index,
                    vs_index_need need);
/* indexed: 1 when the index was looked for (index NULL then means the
 * stream has none), 0 when the row is stored without it (a lookup asking
 * for the index is then a miss). */
void vs_cache_store(const char *abspath, const struct stat *st, const vs_probe_info *info, const vs_index *index,
                    int indexed);
/* The database path ($XDG_CACHE_HOME/vstudio/probe.db or ~/.cache/vstudio/probe.db) into buf. */
int vs_cache_path(char *buf, size_t size);

#endif
