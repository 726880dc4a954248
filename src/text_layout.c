/*
 * text_layout.c: a UTF-8 text's glyphs, shaped and placed in lines.
 *
 * Per paragraph ('\n' ends one): FriBidi gives each character its
 * embedding level (UAX #9, the paragraph's direction from its first strong
 * character unless one is asked for); the paragraph is cut into runs of one
 * level, one script (HarfBuzz's Unicode data; common and inherited
 * characters join their neighbours) and one face (the font's own, or the
 * fallback font.c finds for a character it lacks); HarfBuzz shapes each run
 * with the whole text as context (kerning, ligatures, joining, reordering),
 * its clusters being byte offsets of the text.
 *
 * Lines are broken in logical order, greedily: a line ends at the last
 * break opportunity that keeps it within the width: after a run of spaces,
 * and before or after a Han, Hiragana or Katakana character (scripts
 * written without spaces; Thai and others without spaces break only at
 * spaces). A word wider than the line breaks at a cluster boundary.
 * Spaces at the end of a wrapped line take no room. Each line's runs are
 * then put in visual order (UAX #9's rule L2 over the runs; inside a run
 * HarfBuzz's order is already visual) and placed left to right.
 *
 * The box is as wide as the widest line; lines are aligned in it, their
 * baselines line_spacing x the font's line height apart.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fribidi.h>

#include "error.h"
#include "text_layout.h"

/* Next code point of UTF-8 text at *s (advanced); malformed input gives U+FFFD. */
static uint32_t next_utf8(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0) {
        *s += 1;
        return 0xFFFD;
    }
    c &= n == 0 ? 0x7F : 0x3F >> n;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s += i;
            return 0xFFFD;
        }
        c = c << 6 | (p[i] & 0x3F);
    }
    *s += n + 1;
    static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (c < least[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0xFFFD;
    return c;
}

static int is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0x1680 || (c >= 0x2000 && c <= 0x200A && c != 0x2007) || c == 0x205F ||
           c == 0x3000 || c == 0x200B;
}

/* Scripts written without spaces whose characters may break anywhere. */
static int breaks_anywhere(hb_script_t s)
{
    return s == HB_SCRIPT_HAN || s == HB_SCRIPT_HIRAGANA || s == HB_SCRIPT_KATAKANA;
}

typedef struct run {
    int c0, c1;   /* characters [c0, c1) of the paragraph */
    int g0, g1;   /* its glyphs in the paragraph's glyph array, in visual order */
    int level;
} run;

/* One paragraph's working arrays. */
typedef struct para {
    int n;                 /* characters */
    uint32_t *cps;
    int *offs;             /* byte offset of each character in the text, and offs[n] */
    FriBidiLevel *levels;
    long *adv;             /* 26.6 advance attributed to each character (its cluster's first) */
    unsigned char *starts; /* 1 where a cluster starts */
    hb_script_t *scripts;
    int *faces;
    run *runs;
    int nruns;
    hb_glyph_info_t *gi;     /* the glyphs of all runs */
    hb_glyph_position_t *gp;
    int *gface;            /* each glyph's face */
    int *gchar;            /* each glyph's cluster's first character */
    int ng, gcap;
} para;

static void para_free(para *p)
{
    free(p->cps), free(p->offs), free(p->levels), free(p->adv), free(p->starts);
    free(p->scripts), free(p->faces), free(p->runs), free(p->gi), free(p->gp), free(p->gface), free(p->gchar);
}

static int grow(void **ptr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*ptr, (size_t)n * size);
    if (!q)
        return -1;
    *ptr = q;
    *cap = n;
    return 0;
}

static int para_alloc(para *p, int n)
{
    size_t m = (size_t)n + 1;
    p->cps = malloc(m * sizeof *p->cps);
    p->offs = malloc(m * sizeof *p->offs);
    p->levels = malloc(m * sizeof *p->levels);
    p->adv = calloc(m, sizeof *p->adv);
    p->starts = calloc(m, 1);
    p->scripts = malloc(m * sizeof *p->scripts);
    p->faces = malloc(m * sizeof *p->faces);
    p->runs = malloc(m * sizeof *p->runs);
    return p->cps && p->offs && p->levels && p->adv && p->starts && p->scripts && p->faces && p->runs ? 0 : -1;
}

/* Room for `need` glyphs in the paragraph's glyph arrays. */
static int grow_glyphs(para *p, int need)
{
    int cap = p->gcap;
    if (grow((void **)&p->gi, &cap, need, sizeof *p->gi) < 0)
        return -1;
    cap = p->gcap;
    if (grow((void **)&p->gp, &cap, need, sizeof *p->gp) < 0)
        return -1;
    cap = p->gcap;
    if (grow((void **)&p->gface, &cap, need, sizeof *p->gface) < 0)
        return -1;
    cap = p->gcap;
    if (grow((void **)&p->gchar, &cap, need, sizeof *p->gchar) < 0)
        return -1;
    p->gcap = cap;
    return 0;
}

/* Scripts per character, common and inherited ones taking their neighbours'. */
static void resolve_scripts(para *p)
{
    hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
    hb_script_t last = HB_SCRIPT_COMMON;
    for (int i = 0; i < p->n; i++) {
        hb_script_t s = hb_unicode_script(uf, p->cps[i]);
        if (s == HB_SCRIPT_COMMON || s == HB_SCRIPT_INHERITED || s == HB_SCRIPT_UNKNOWN)
            s = last;
        p->scripts[i] = last = s;
    }
    /* leading common characters take the first real script */
    hb_script_t next = HB_SCRIPT_COMMON;
    for (int i = p->n - 1; i >= 0 && p->scripts[i] != HB_SCRIPT_COMMON; i--)
        next = p->scripts[i];
    for (int i = 0; i < p->n && p->scripts[i] == HB_SCRIPT_COMMON; i++)
        p->scripts[i] = next == HB_SCRIPT_COMMON ? HB_SCRIPT_LATIN : next;
    for (int i = 0; i < p->n; i++)
        if (p->scripts[i] == HB_SCRIPT_COMMON)
            p->scripts[i] = HB_SCRIPT_LATIN;
}

static int shape_runs(para *p, vs_font *font, const char *text, int text_len, hb_buffer_t *buf,
                      double letter_spacing)
{
    hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
    for (int i = 0; i < p->n; i++) {
        /* marks and joiners stay with the character they belong to */
        hb_unicode_general_category_t gc = hb_unicode_general_category(uf, p->cps[i]);
        int attached = gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK ||
                       gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK ||
                       gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK || p->cps[i] == 0x200D ||
                       (p->cps[i] >= 0xFE00 && p->cps[i] <= 0xFE0F);
        p->faces[i] = i > 0 && (attached || is_space(p->cps[i])) ? p->faces[i - 1] : vs_font_face_for(font, p->cps[i]);
    }
    p->nruns = 0;
    for (int i = 0; i < p->n;) {
        int j = i + 1;
        while (j < p->n && p->levels[j] == p->levels[i] && p->scripts[j] == p->scripts[i] && p->faces[j] == p->faces[i])
            j++;
        run *r = &p->runs[p->nruns++];
        r->c0 = i, r->c1 = j, r->level = p->levels[i];
        hb_buffer_clear_contents(buf);
        hb_buffer_add_utf8(buf, text, text_len, (unsigned)p->offs[i], p->offs[j] - p->offs[i]);
        hb_buffer_set_direction(buf, r->level & 1 ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
        hb_buffer_set_script(buf, p->scripts[i]);
        hb_buffer_set_language(buf, hb_language_get_default());
        hb_shape(font->faces[p->faces[i]].hb, buf, NULL, 0);
        unsigned count;
        hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(buf, &count);
        hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(buf, &count);
        if (grow_glyphs(p, p->ng + (int)count) < 0)
            return vs_fail("out of memory shaping text");
        r->g0 = p->ng;
        long ls = lround(letter_spacing * 64);
        for (unsigned k = 0; k < count; k++) {
            /* letter spacing after each cluster: on its last glyph in buffer order */
            if (ls && (k + 1 == count || gi[k + 1].cluster != gi[k].cluster))
                gp[k].x_advance += (hb_position_t)ls;
            p->gi[p->ng] = gi[k];
            p->gp[p->ng] = gp[k];
            p->gface[p->ng] = p->faces[i];
            p->ng++;
        }
        r->g1 = p->ng;
        i = j;
    }
    /* each glyph's advance counts for its cluster's first character */
    int base = p->offs[0];
    int span = p->offs[p->n] - base;
    int *char_at = malloc(((size_t)span + 1) * sizeof *char_at);
    if (!char_at)
        return vs_fail("out of memory shaping text");
    for (int i = 0; i < p->n; i++)
        for (int b = p->offs[i]; b < p->offs[i + 1]; b++)
            char_at[b - base] = i;
    for (int g = 0; g < p->ng; g++) {
        int c = char_at[(int)p->gi[g].cluster - base];
        p->gchar[g] = c;
        p->adv[c] += p->gp[g].x_advance;
        p->starts[c] = 1;
    }
    free(char_at);
    return 0;
}

/* The end of the line starting at character s: the line is [s, end). */
static int break_line(const para *p, int s, long max_w)
{
    if (max_w <= 0)
        return p->n;
    long w = 0;
    int last_break = -1;
    for (int i = s; i < p->n; i++) {
        w += p->adv[i];
        if (!is_space(p->cps[i]) && w > max_w && i > s) {
            if (last_break >= s)
                return last_break + 1;
            /* no opportunity: break before this character's cluster (after it when it is the first) */
            int b = i;
            while (b > s && !p->starts[b])
                b--;
            if (b == s)
                for (b = i + 1; b < p->n && !p->starts[b]; b++)
                    ;
            return b;
        }
        if (i + 1 < p->n) {
            int sp = is_space(p->cps[i]), sp_next = is_space(p->cps[i + 1]);
            if ((sp && !sp_next) || (!sp && !sp_next && p->starts[i + 1] &&
                                     (breaks_anywhere(p->scripts[i]) || breaks_anywhere(p->scripts[i + 1]))))
                last_break = i;
        }
    }
    return p->n;
}

/* What laying out a text carries from paragraph to paragraph. */
typedef struct builder {
    vs_text_layout *l;
    int glyph_cap;
    long *line_w; /* each line's width, 26.6 */
    int line_cap;
    const char *text;
    int len;
    const vs_text_options *o;
    hb_buffer_t *buf;
    long step; /* baseline to baseline, 26.6 */
} builder;

typedef struct seg {
    int run;
    int level;
} seg;

/* Places the line [s, e) of paragraph p below the lines so far: appends
 * its glyphs to the layout and its width to the builder's. */
static int place_line(builder *b, const para *p, int s, int e)
{
    vs_text_layout *l = b->l;
    if (grow((void **)&b->line_w, &b->line_cap, l->lines + 1, sizeof *b->line_w))
        return vs_fail("out of memory laying out text");
    long baseline = l->lines * b->step + l->font->ascent * 64L;
    while (e > s && is_space(p->cps[e - 1]))
        e--;
    seg *segs = malloc(((size_t)p->nruns + 1) * sizeof *segs);
    if (!segs)
        return vs_fail("out of memory laying out text");
    int nseg = 0, max_level = 0, min_odd = INT_MAX;
    for (int r = 0; r < p->nruns; r++) {
        if (p->runs[r].c1 <= s || p->runs[r].c0 >= e)
            continue;
        int lev = p->runs[r].level;
        segs[nseg++] = (seg){r, lev};
        if (lev > max_level)
            max_level = lev;
        if ((lev & 1) && lev < min_odd)
            min_odd = lev;
    }
    /* L2: from the highest level down to the lowest odd one, reverse every
     * maximal sequence of runs at that level or higher */
    for (int lev = max_level; lev >= min_odd && min_odd != INT_MAX; lev--) {
        for (int i = 0; i < nseg;) {
            if (segs[i].level < lev) {
                i++;
                continue;
            }
            int j = i;
            while (j < nseg && segs[j].level >= lev)
                j++;
            for (int a = i, b = j - 1; a < b; a++, b--) {
                seg t = segs[a];
                segs[a] = segs[b], segs[b] = t;
            }
            i = j;
        }
    }
    long pen = 0;
    for (int i = 0; i < nseg; i++) {
        const run *r = &p->runs[segs[i].run];
        for (int g = r->g0; g < r->g1; g++) {
            int c = p->gchar[g];
            if (c < s || c >= e)
                continue;
            if (grow((void **)&l->glyphs, &b->glyph_cap, l->nglyphs + 1, sizeof *l->glyphs)) {
                free(segs);
                return vs_fail("out of memory laying out text");
            }
            l->glyphs[l->nglyphs++] = (vs_placed_glyph){
                .face = p->gface[g], .glyph = p->gi[g].codepoint, .cluster = (int)p->gi[g].cluster,
                .line = l->lines, .x = pen + p->gp[g].x_offset, .y = baseline - p->gp[g].y_offset,
                .advance = p->gp[g].x_advance};
            pen += p->gp[g].x_advance;
        }
    }
    free(segs);
    long ls = lround(b->o->letter_spacing * 64);
    if (pen > 0 && ls > 0)
        pen -= ls; /* no spacing after the last cluster */
    b->line_w[l->lines++] = pen;
    return 0;
}

/* Lays out the paragraph in bytes [b0, b1) of the text. */
static int layout_paragraph(builder *b, int b0, int b1)
{
    const char *text = b->text;
    const vs_text_options *o = b->o;
    para p = {0};
    int n = 0;
    for (const char *s = text + b0; s < text + b1; n++)
        next_utf8(&s);
    if (para_alloc(&p, n) < 0) {
        para_free(&p);
        return vs_fail("out of memory laying out text");
    }
    p.n = n;
    const char *s = text + b0;
    for (int i = 0; i < n; i++) {
        p.offs[i] = (int)(s - text);
        p.cps[i] = next_utf8(&s);
    }
    p.offs[n] = b1;
    int rc = 0;
    if (n > 0) {
        FriBidiCharType *types = malloc((size_t)n * sizeof *types);
        FriBidiBracketType *brackets = malloc((size_t)n * sizeof *brackets);
        if (!types || !brackets) {
            free(types), free(brackets);
            para_free(&p);
            return vs_fail("out of memory laying out text");
        }
        fribidi_get_bidi_types(p.cps, n, types);
        fribidi_get_bracket_types(p.cps, n, types, brackets);
        FriBidiParType base = o->direction == VS_DIRECTION_RTL   ? FRIBIDI_PAR_RTL
                              : o->direction == VS_DIRECTION_LTR ? FRIBIDI_PAR_LTR
                                                                 : FRIBIDI_PAR_ON;
        if (!fribidi_get_par_embedding_levels_ex(types, brackets, n, &base, p.levels))
            memset(p.levels, 0, (size_t)n * sizeof *p.levels);
        free(types), free(brackets);
        resolve_scripts(&p);
        rc = shape_runs(&p, b->l->font, text, b->len, b->buf, o->letter_spacing);
    }
    long max_w = o->width > 0 ? (long)floor(o->width * 64) : 0;
    for (int start = 0; rc == 0;) {
        int end = break_line(&p, start, max_w);
        if ((rc = place_line(b, &p, start, end)) < 0 || end >= p.n)
            break;
        start = end;
    }
    para_free(&p);
    return rc;
}

vs_text_layout *vs_text_layout_new(vs_font *font, const char *text, const vs_text_options *opts)
{
    static const vs_text_options defaults = {0};
    const vs_text_options *o = opts ? opts : &defaults;
    if (o->align != VS_ALIGN_LEFT && o->align != VS_ALIGN_CENTER && o->align != VS_ALIGN_RIGHT) {
        vs_fail("text align must be VS_ALIGN_LEFT, VS_ALIGN_CENTER or VS_ALIGN_RIGHT, got %d", (int)o->align);
        return NULL;
    }
    if (!(o->width >= 0 && o->width < 1e7) || !(o->line_spacing >= 0 && o->line_spacing < 1000) ||
        !(fabs(o->letter_spacing) < 1e5)) {
        vs_fail("text width, line spacing or letter spacing is out of range (%g, %g, %g)", o->width,
                o->line_spacing, o->letter_spacing);
        return NULL;
    }
    size_t len = strlen(text);
    if (len > INT_MAX / 2) {
        vs_fail("text of %zu bytes is too long", len);
        return NULL;
    }
    vs_text_layout *l = calloc(1, sizeof *l);
    builder b = {.l = l, .text = text, .len = (int)len, .o = o, .buf = hb_buffer_create()};
    if (!l || !hb_buffer_allocation_successful(b.buf)) {
        vs_fail("out of memory laying out text");
        goto fail;
    }
    l->font = font;
    b.step = lround(font->line_height * (o->line_spacing > 0 ? o->line_spacing : 1) * 64);
    for (int b0 = 0;;) {
        const char *nl = memchr(text + b0, '\n', len - (size_t)b0);
        int b1 = nl ? (int)(nl - text) : (int)len;
        if (layout_paragraph(&b, b0, b1) < 0)
            goto fail;
        if (!nl)
            break;
        b0 = b1 + 1;
    }
    long widest = 0;
    for (int i = 0; i < l->lines; i++)
        if (b.line_w[i] > widest)
            widest = b.line_w[i];
    l->width = (int)((widest + 63) >> 6);
    l->height = (int)(((l->lines - 1) * b.step + 63) >> 6) + font->line_height;
    for (int g = 0; g < l->nglyphs; g++) {
        vs_placed_glyph *pg = &l->glyphs[g];
        long slack = l->width * 64L - b.line_w[pg->line];
        pg->x += o->align == VS_ALIGN_CENTER ? slack / 2 : o->align == VS_ALIGN_RIGHT ? slack : 0;
    }
    free(b.line_w);
    hb_buffer_destroy(b.buf);
    return l;
fail:
    free(b.line_w);
    hb_buffer_destroy(b.buf);
    vs_text_layout_free(l);
    return NULL;
}

void vs_text_masks_free(struct vs_text_masks *m); /* text.c */

void vs_text_layout_free(vs_text_layout *l)
{
    if (!l)
        return;
    vs_text_masks_free(l->masks);
    free(l->glyphs);
    free(l);
}

void vs_text_layout_size(const vs_text_layout *l, int *width, int *height, int *lines)
{
    if (width)
        *width = l->width;
    if (height)
        *height = l->height;
    if (lines)
        *lines = l->lines;
}

int vs_text_layout_glyphs(const vs_text_layout *l, vs_text_glyph *out, int cap)
{
    for (int i = 0; i < l->nglyphs && i < cap; i++) {
        const vs_placed_glyph *g = &l->glyphs[i];
        out[i] = (vs_text_glyph){(int)g->glyph, g->cluster, g->face, g->line, g->x / 64.0, g->y / 64.0,
                                 g->advance / 64.0};
    }
    return l->nglyphs;
}
