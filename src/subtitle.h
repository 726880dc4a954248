/*
 * subtitle.h: SRT and WebVTT caption files to cues (subtitle.c), private to
 * the library: captions.c turns the cues into libass events; ASS/SSA files
 * go to libass as they are.
 */
#ifndef VS_SUBTITLE_H
#define VS_SUBTITLE_H

#include <stddef.h>
#include <stdint.h>

/* What a caption file holds. */
typedef enum vs_subtitle_format {
    VS_SUBTITLE_SRT = 0, /* SubRip: numbered cues, HH:MM:SS,mmm */
    VS_SUBTITLE_VTT = 1, /* WebVTT: "WEBVTT" header, [HH:]MM:SS.mmm */
    VS_SUBTITLE_ASS = 2  /* ASS/SSA scripts: libass reads them itself */
} vs_subtitle_format;

typedef struct vs_cue {
    int64_t start_ms, end_ms; /* shown while start_ms <= t < end_ms */
    char *text;               /* ASS event text: "\N" between lines, {\i1}-style overrides for tags */
    int line;                 /* the file's line (1-based) where the cue's timing is */
} vs_cue;

typedef struct vs_cue_list {
    vs_cue *cues;
    int n, cap;
} vs_cue_list;

/* From the path's extension (.srt .vtt .ass .ssa), else from the first
 * bytes (a "WEBVTT" or "[Script Info]" header), else SRT. */
vs_subtitle_format vs_subtitle_detect(const char *path, const char *data, size_t size);
/* Parses an SRT or VTT file's bytes (a UTF-8 BOM and CRLF line ends are
 * fine) into out (empty on entry); errors name `name` and the line:
 * "subs.srt:12: bad timing ...". out is freed on failure. */
int vs_subtitle_parse(const char *data, size_t size, vs_subtitle_format format, const char *name,
                      vs_cue_list *out);
void vs_cue_list_free(vs_cue_list *list);

#endif
