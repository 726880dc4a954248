/*
 * subtitle.c: SRT and WebVTT caption files to cues with exact millisecond
 * timings, for libass to render (captions.c).
 *
 * Both formats are blocks of lines separated by blank lines. An SRT block
 * is an optional cue number, a timing line "HH:MM:SS,mmm --> HH:MM:SS,mmm"
 * (anything after the end time, such as SRT's X1: coordinates, is ignored)
 * and the text lines. A WebVTT file starts with "WEBVTT"; its header, NOTE,
 * STYLE and REGION blocks are skipped, a cue is an optional identifier, a
 * timing line "[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm" whose cue settings are
 * tolerated (not applied) and the text lines.
 *
 * Text becomes ASS event text: lines are joined by "\N"; <b> <i> <u> <s>
 * and their closing tags become {\b1} {\b0} ... overrides, <font
 * color="#rrggbb"> a colour override; other tags (VTT's <c.x>, <v Name>,
 * inline timestamps) are dropped and VTT's character references decoded.
 * In SRT, {\an8}-style override blocks pass through, as other players do.
 *
 * Lines end with LF, CRLF or CR; a UTF-8 BOM is skipped. Errors name the
 * file and the line.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "subtitle.h"

/* The cursor over the file's lines. */
struct lines {
    const char *p, *end;
    int number;          /* of the line last read */
    const char *name;
};

/* The next line (without its end) into *s, *len; 0 at the end of the data. */
static int next_line(struct lines *in, const char **s, size_t *len)
{
    if (in->p >= in->end)
        return 0;
    const char *start = in->p, *q = start;
    while (q < in->end && *q != '\n' && *q != '\r')
        q++;
    *s = start;
    *len = (size_t)(q - start);
    if (q < in->end && *q == '\r')
        q++;
    if (q < in->end && *q == '\n')
        q++;
    in->p = q;
    in->number++;
    return 1;
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

/* The line for a message: at most 40 bytes, no control characters. */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size; i++)
        buf[n++] = (unsigned char)s[i] < 32 ? '?' : s[i];
    if (n < len && n + 4 < size)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = '\0';
    return buf;
}

/* Digits at s[*i..]: exactly `want` of them (0: one or more, up to 9). */
static int read_number(const char *s, size_t len, size_t *i, int want, long long *value)
{
    size_t start = *i;
    long long v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 9)
        v = v * 10 + (s[(*i)++] - '0');
    size_t n = *i - start;
    if (n == 0 || (want && n != (size_t)want) || (*i < len && s[*i] >= '0' && s[*i] <= '9'))
        return -1;
    *value = v;
    return 0;
}

/* A timestamp at s[*i..]: SRT H:MM:SS,mmm (',' or '.'), VTT [H:]MM:SS.mmm. */
static int read_time(const char *s, size_t len, size_t *i, vs_subtitle_format format, int64_t *ms)
{
    long long parts[3], frac;
    int n = 0;
    for (;;) {
        if (n == 3 || read_number(s, len, i, n ? 2 : 0, &parts[n]) < 0)
            return -1;
        n++;
        if (*i < len && s[*i] == ':') {
            (*i)++;
            continue;
        }
        break;
    }
    if (n < (format == VS_SUBTITLE_SRT ? 3 : 2))
        return -1;
    char sep = *i < len ? s[*i] : '\0';
    if (!(sep == '.' || (format == VS_SUBTITLE_SRT && sep == ',')))
        return -1;
    (*i)++;
    if (read_number(s, len, i, 3, &frac) < 0)
        return -1;
    long long h = n == 3 ? parts[0] : 0, m = parts[n - 2], sec = parts[n - 1];
    if (m > 59 || sec > 59)
        return -1;
    *ms = ((h * 60 + m) * 60 + sec) * 1000 + frac;
    return 0;
}

/* "START --> END[ settings]" into the cue's times. */
static int parse_timing(struct lines *in, const char *s, size_t len, vs_subtitle_format format, vs_cue *cue)
{
    char shown[64];
    const char *want = format == VS_SUBTITLE_SRT ? "HH:MM:SS,mmm --> HH:MM:SS,mmm" : "[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm";
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    int ok = read_time(s, len, &i, format, &cue->start_ms) == 0;
    while (ok && i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    ok = ok && i + 3 <= len && memcmp(s + i, "-->", 3) == 0;
    i += 3;
    while (ok && i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    ok = ok && read_time(s, len, &i, format, &cue->end_ms) == 0;
    /* then the end of the line or, after a space, SRT coordinates or VTT settings */
    ok = ok && (i == len || s[i] == ' ' || s[i] == '\t');
    if (!ok)
        return vs_fail("%s:%d: bad cue timing '%s' (expected %s)", in->name, in->number,
                       quote(s, len, shown, sizeof shown), want);
    if (cue->end_ms < cue->start_ms)
        return vs_fail("%s:%d: the cue ends before it starts ('%s')", in->name, in->number,
                       quote(s, len, shown, sizeof shown));
    cue->line = in->number;
    return 0;
}

/* ---- text ---- */

struct buf {
    char *data;
    size_t n, cap;
};

static int put(struct buf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 128;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return vs_fail("out of memory");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->n, s, len);
    b->n += len;
    b->data[b->n] = '\0';
    return 0;
}

static int put_str(struct buf *b, const char *s) { return put(b, s, strlen(s)); }

/* A tag <...> (without the brackets) as an ASS override; "" drops it. */
static int put_tag(struct buf *b, const char *tag, size_t len)
{
    static const struct { const char *name, *on, *off; } styles[] = {
        {"b", "{\\b1}", "{\\b0}"}, {"i", "{\\i1}", "{\\i0}"}, {"u", "{\\u1}", "{\\u0}"}, {"s", "{\\s1}", "{\\s0}"}};
    int closing = len > 0 && tag[0] == '/';
    const char *name = tag + closing;
    size_t n = 0;
    while (closing + n < len && isalpha((unsigned char)name[n]))
        n++;
    for (size_t k = 0; k < sizeof styles / sizeof *styles; k++)
        if (n == 1 && tolower((unsigned char)name[0]) == styles[k].name[0])
            return put_str(b, closing ? styles[k].off : styles[k].on);
    if (n == 4 && strncasecmp(name, "font", 4) == 0) {
        if (closing)
            return put_str(b, "{\\c}");
        /* color="#rrggbb" (quotes optional) */
        const char *c = NULL;
        for (size_t k = 0; k + 6 < len; k++)
            if (strncasecmp(tag + k, "color=", 6) == 0)
                c = tag + k + 6;
        if (c && *c == '"')
            c++;
        if (c && *c == '#')
            c++;
        unsigned rgb;
        char hex[7] = {0};
        if (c && (size_t)(c - tag) + 6 <= len) {
            memcpy(hex, c, 6);
            if (strspn(hex, "0123456789abcdefABCDEF") == 6 && sscanf(hex, "%x", &rgb) == 1) {
                char o[32];
                snprintf(o, sizeof o, "{\\c&H%02X%02X%02X&}", rgb & 255, (rgb >> 8) & 255, rgb >> 16);
                return put_str(b, o);
            }
        }
    }
    return 0;
}

/* VTT's character references: the length used (0 for a lone '&'), or -1. */
static long put_entity(struct buf *b, const char *s, size_t len)
{
    static const struct { const char *name, *text; } refs[] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&nbsp;", "\\h"}, {"&lrm;", "\xe2\x80\x8e"},
        {"&rlm;", "\xe2\x80\x8f"}, {"&quot;", "\""}, {"&apos;", "'"}};
    for (size_t k = 0; k < sizeof refs / sizeof *refs; k++) {
        size_t n = strlen(refs[k].name);
        if (n <= len && memcmp(s, refs[k].name, n) == 0)
            return put_str(b, refs[k].text) < 0 ? -1 : (long)n;
    }
    return 0;
}

/* One line of cue text, converted, onto b. */
static int put_text_line(struct buf *b, const char *s, size_t len, vs_subtitle_format format)
{
    size_t i = 0;
    while (i < len) {
        int rc = 0;
        long used = 0;
        const char *gt = s[i] == '<' ? memchr(s + i, '>', len - i) : NULL;
        if (gt) {
            rc = put_tag(b, s + i + 1, (size_t)(gt - s) - i - 1);
            i = (size_t)(gt - s) + 1;
        } else if (s[i] == '&' && format == VS_SUBTITLE_VTT && (used = put_entity(b, s + i, len - i)) != 0) {
            rc = used < 0 ? -1 : 0;
            i += used > 0 ? (size_t)used : 0;
        } else if (s[i] == '{' && format == VS_SUBTITLE_VTT) {
            rc = put_str(b, "\\{"); /* literal text in VTT, not an override block */
            i++;
        } else if (s[i] == '}' && format == VS_SUBTITLE_VTT) {
            rc = put_str(b, "\\}");
            i++;
        } else {
            rc = put(b, s + i, 1);
            i++;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- blocks ---- */

static int add_cue(vs_cue_list *out, vs_cue *cue)
{
    if (out->n == out->cap) {
        int cap = out->cap ? out->cap * 2 : 64;
        vs_cue *c = realloc(out->cues, (size_t)cap * sizeof *c);
        if (!c)
            return vs_fail("out of memory");
        out->cues = c;
        out->cap = cap;
    }
    out->cues[out->n++] = *cue;
    return 0;
}

/* The text lines after a timing, up to a blank line or the end. */
static int read_text(struct lines *in, vs_subtitle_format format, vs_cue *cue)
{
    struct buf b = {0};
    const char *s;
    size_t len;
    int first = 1;
    if (put(&b, "", 0) < 0)
        return -1;
    while (next_line(in, &s, &len) && !is_blank(s, len)) {
        if ((!first && put_str(&b, "\\N") < 0) || put_text_line(&b, s, len, format) < 0) {
            free(b.data);
            return -1;
        }
        first = 0;
    }
    cue->text = b.data;
    return 0;
}

static int starts_word(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(s, word, n) == 0 && (len == n || s[n] == ' ' || s[n] == '\t');
}

static int has_arrow(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(s + i, "-->", 3) == 0)
            return 1;
    return 0;
}

static void skip_block(struct lines *in)
{
    const char *s;
    size_t len;
    while (next_line(in, &s, &len) && !is_blank(s, len)) {
    }
}

static int parse_blocks(struct lines *in, vs_subtitle_format format, vs_cue_list *out)
{
    const char *s;
    size_t len;
    char shown[64];
    while (next_line(in, &s, &len)) {
        if (is_blank(s, len))
            continue;
        if (format == VS_SUBTITLE_VTT &&
            (starts_word(s, len, "NOTE") || starts_word(s, len, "STYLE") || starts_word(s, len, "REGION"))) {
            skip_block(in);
            continue;
        }
        if (!has_arrow(s, len)) {
            /* a cue number (SRT) or identifier (VTT), then the timing */
            size_t digits = 0;
            while (digits < len && s[digits] >= '0' && s[digits] <= '9')
                digits++;
            if (format == VS_SUBTITLE_SRT && (digits == 0 || !is_blank(s + digits, len - digits)))
                return vs_fail("%s:%d: expected a cue number or a timing 'HH:MM:SS,mmm --> HH:MM:SS,mmm', got '%s'",
                               in->name, in->number, quote(s, len, shown, sizeof shown));
            if (!next_line(in, &s, &len))
                return vs_fail("%s:%d: expected the cue's timing (START --> END) after its %s", in->name,
                               in->number, format == VS_SUBTITLE_SRT ? "number" : "identifier");
        }
        vs_cue cue = {0};
        if (parse_timing(in, s, len, format, &cue) < 0 || read_text(in, format, &cue) < 0)
            return -1;
        if (add_cue(out, &cue) < 0) {
            free(cue.text);
            return -1;
        }
    }
    return 0;
}

int vs_subtitle_parse(const char *data, size_t size, vs_subtitle_format format, const char *name,
                      vs_cue_list *out)
{
    memset(out, 0, sizeof *out);
    if (size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        data += 3;
        size -= 3;
    }
    struct lines in = {data, data + size, 0, name};
    const char *nul = memchr(data, '\0', size);
    if (nul) {
        int line = 1;
        for (const char *p = data; p < nul; p++)
            line += *p == '\n';
        return vs_fail("%s:%d: a NUL byte: not a text caption file", name, line);
    }
    if (format == VS_SUBTITLE_VTT) {
        const char *s;
        size_t len;
        if (!next_line(&in, &s, &len) || !starts_word(s, len, "WEBVTT"))
            return vs_fail("%s:1: a WebVTT file starts with 'WEBVTT'", name);
        skip_block(&in); /* the header */
    } else if (format != VS_SUBTITLE_SRT) {
        return vs_fail("%s: not an SRT or WebVTT file", name);
    }
    if (parse_blocks(&in, format, out) < 0) {
        vs_cue_list_free(out);
        return -1;
    }
    return 0;
}

vs_subtitle_format vs_subtitle_detect(const char *path, const char *data, size_t size)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".vtt") == 0 || strcasecmp(dot, ".webvtt") == 0)
            return VS_SUBTITLE_VTT;
        if (strcasecmp(dot, ".ass") == 0 || strcasecmp(dot, ".ssa") == 0)
            return VS_SUBTITLE_ASS;
        if (strcasecmp(dot, ".srt") == 0)
            return VS_SUBTITLE_SRT;
    }
    if (size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        data += 3;
        size -= 3;
    }
    if (size >= 6 && memcmp(data, "WEBVTT", 6) == 0)
        return VS_SUBTITLE_VTT;
    if (size >= 13 && memcmp(data, "[Script Info]", 13) == 0)
        return VS_SUBTITLE_ASS;
    return VS_SUBTITLE_SRT;
}

void vs_cue_list_free(vs_cue_list *list)
{
    for (int i = 0; i < list->n; i++)
        free(list->cues[i].text);
    free(list->cues);
    memset(list, 0, sizeof *list);
}
