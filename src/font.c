/*
 * font.c: fonts by file or by fontconfig name, at one pixel size, with
 * fallback faces for the characters the chosen one lacks.
 *
 * A name with a '/' (or naming an existing file) is a font file; anything
 * else is a fontconfig name ("DejaVu Serif:bold", "DejaVu Sans:weight=200")
 * matched as fc-match does. A family that is not installed is an error
 * rather than fontconfig's silent substitute, except the generic families
 * (sans-serif, serif, monospace) that exist to be substituted.
 *
 * A vs_font belongs to one thread at a time (each render worker's Lua state
 * opens its own, once, and reuses it for every frame): it has its own
 * FT_Library and faces, since FreeType faces are not thread-safe, so drawing
 * text in parallel takes no lock. Only fontconfig is shared, under one
 * mutex, and only at open and at the first time a character needs a
 * fallback face.
 *
 * Fallback: when the font has no glyph for a character, the candidates
 * fontconfig sorts for the request (FcFontSort) are tried in order, by their
 * charsets; the first scalable one that has it is opened and kept.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hb-ft.h>
#include <hb-ot.h>

#include "error.h"
#include "font.h"

static pthread_mutex_t fc_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_file(const char *name)
{
    struct stat st;
    return strchr(name, '/') || (stat(name, &st) == 0 && S_ISREG(st.st_mode));
}

/* Family names compare as fontconfig compares them: ignoring blanks and case. */
static int same_family(const FcChar8 *a, const FcChar8 *b)
{
    for (;; a++, b++) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (FcToLower(*a) != FcToLower(*b))
            return 0;
        if (!*a)
            return 1;
    }
}

static int is_generic_family(const FcChar8 *family)
{
    static const char *const generic[] = {"sans-serif", "sans", "serif", "monospace", "mono", "system-ui"};
    for (size_t i = 0; i < sizeof generic / sizeof *generic; i++)
        if (same_family(family, (const FcChar8 *)generic[i]))
            return 1;
    return 0;
}

/* Whether the match carries the family asked for ("DejaVuSansMono" is DejaVu Sans Mono). */
static int has_family(FcPattern *match, const FcChar8 *family)
{
    FcChar8 *f;
    for (int i = 0; FcPatternGetString(match, FC_FAMILY, i, &f) == FcResultMatch; i++)
        if (same_family(f, family))
            return 1;
    return 0;
}

/* The file and face index for a fontconfig name; *request gets the
 * substituted pattern (for fallbacks). Called with fc_lock held. */
static int resolve_name(const char *name, FcPattern **request, char **path, int *index)
{
    if (!FcInit())
        return vs_fail("cannot initialise fontconfig");
    FcPattern *pat = FcNameParse((const FcChar8 *)name);
    if (!pat)
        return vs_fail("font not found: %s (not a fontconfig name such as \"DejaVu Serif:bold\")", name);
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult res;
    FcPattern *match = FcFontMatch(NULL, pat, &res);
    FcChar8 *family = NULL, *file = NULL;
    FcPattern *asked = FcNameParse((const FcChar8 *)name); /* before substitution added aliases */
    int ok = match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch;
    if (ok && asked && FcPatternGetString(asked, FC_FAMILY, 0, &family) == FcResultMatch &&
        !is_generic_family(family) && !has_family(match, family))
        ok = 0;
    if (!ok) {
        vs_fail("font not found: %s (no installed font family by that name; `fc-list : family` lists them)",
                name);
        goto fail;
    }
    if (FcPatternGetInteger(match, FC_INDEX, 0, index) != FcResultMatch)
        *index = 0;
    if (!(*path = strdup((const char *)file))) {
        vs_fail("out of memory opening font %s", name);
        goto fail;
    }
    FcPatternDestroy(asked);
    FcPatternDestroy(match);
    *request = pat;
    return 0;
fail:
    if (asked)
        FcPatternDestroy(asked);
    if (match)
        FcPatternDestroy(match);
    FcPatternDestroy(pat);
    return -1;
}

static int add_face(vs_font *font, const char *path, int index)
{
    vs_face *face = &font->faces[font->nfaces];
    FT_Error err = FT_New_Face(font->lib, path, index, &face->ft);
    struct stat st;
    if (err)
        return vs_fail(err == FT_Err_Cannot_Open_Resource && stat(path, &st) != 0 ? "font not found: %s"
                       : err == FT_Err_Cannot_Open_Resource                ? "%s: cannot open the font file"
                                                                           : "%s: not a font FreeType can read (TTF, OTF, ...)",
                       path);
    if (FT_Set_Char_Size(face->ft, 0, (FT_F26Dot6)lround(font->size * 64), 72, 72)) {
        FT_Done_Face(face->ft);
        return vs_fail("%s: cannot use size %g", path, font->size);
    }
    /* HarfBuzz's OpenType metrics (unhinted): the advances hb-shape reports */
    hb_face_t *hbface = hb_ft_face_create_referenced(face->ft);
    face->hb = hb_font_create(hbface);
    hb_face_destroy(hbface);
    hb_ot_font_set_funcs(face->hb);
    int scale = (int)lround(font->size * 64);
    hb_font_set_scale(face->hb, scale, scale);
    if (!(face->path = strdup(path))) {
        hb_font_destroy(face->hb);
        FT_Done_Face(face->ft);
        return vs_fail("out of memory opening font %s", path);
    }
    font->nfaces++;
    return 0;
}

vs_font *vs_font_open(const char *name, double size_px)
{
    if (!(size_px >= 1 && size_px <= 2000)) {
        vs_fail("font size %g is out of range (1..2000 pixels)", size_px);
        return NULL;
    }
    if (!name)
        name = "DejaVu Sans";
    vs_font *font = calloc(1, sizeof *font);
    char *path = NULL;
    int index = 0;
    if (!font) {
        vs_fail("out of memory opening font %s", name);
        return NULL;
    }
    font->size = size_px;
    if (FT_Init_FreeType(&font->lib)) {
        vs_fail("cannot initialise FreeType");
        goto fail;
    }
    if (!is_file(name)) {
        pthread_mutex_lock(&fc_lock);
        int rc = resolve_name(name, &font->request, &path, &index);
        pthread_mutex_unlock(&fc_lock);
        if (rc < 0)
            goto fail;
    }
    if (add_face(font, path ? path : name, index) < 0)
        goto fail;
    free(path);
    path = NULL;
    const FT_Size_Metrics *m = &font->faces[0].ft->size->metrics;
    font->line_height = (int)((m->height + 63) >> 6);
    font->ascent = (int)((m->ascender + 63) >> 6);
    if (font->line_height <= 0)
        font->line_height = (int)ceil(size_px * 1.2);
    return font;
fail:
    free(path);
    vs_font_close(font);
    return NULL;
}

void vs_font_close(vs_font *font)
{
    if (!font)
        return;
    for (int i = font->nfaces - 1; i >= 0; i--) {
        free(font->faces[i].path);
        hb_font_destroy(font->faces[i].hb);
        FT_Done_Face(font->faces[i].ft);
    }
    if (font->stroker)
        FT_Stroker_Done(font->stroker);
    pthread_mutex_lock(&fc_lock);
    if (font->fallbacks)
        FcFontSetDestroy(font->fallbacks);
    if (font->request)
        FcPatternDestroy(font->request);
    pthread_mutex_unlock(&fc_lock);
    if (font->lib)
        FT_Done_FreeType(font->lib);
    free(font);
}

int vs_font_line_height(const vs_font *font)
{
    return font->line_height;
}

const char *vs_font_face_path(const vs_font *font, int face)
{
    return face >= 0 && face < font->nfaces ? font->faces[face].path : NULL;
}

/* The first fallback candidate with cp, opened and added; -1 when none. */
static int open_fallback(vs_font *font, uint32_t cp)
{
    char path[4096];
    int index = -1;
    pthread_mutex_lock(&fc_lock);
    if (!font->fallbacks && FcInit()) {
        FcPattern *pat = font->request ? FcPatternDuplicate(font->request) : FcPatternCreate();
        if (pat) {
            if (!font->request) { /* a font file: fall back as from the default family */
                FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)"DejaVu Sans");
                FcConfigSubstitute(NULL, pat, FcMatchPattern);
                FcDefaultSubstitute(pat);
            }
            FcResult res;
            font->fallbacks = FcFontSort(NULL, pat, FcTrue, NULL, &res);
            FcPatternDestroy(pat);
        }
    }
    for (int i = 0; font->fallbacks && i < font->fallbacks->nfont; i++) {
        FcPattern *p = font->fallbacks->fonts[i];
        FcCharSet *cs;
        FcBool scalable;
        FcChar8 *file;
        if (FcPatternGetCharSet(p, FC_CHARSET, 0, &cs) != FcResultMatch || !FcCharSetHasChar(cs, cp) ||
            FcPatternGetBool(p, FC_SCALABLE, 0, &scalable) != FcResultMatch || !scalable ||
            FcPatternGetString(p, FC_FILE, 0, &file) != FcResultMatch || strlen((char *)file) >= sizeof path)
            continue;
        strcpy(path, (const char *)file);
        if (FcPatternGetInteger(p, FC_INDEX, 0, &index) != FcResultMatch)
            index = 0;
        break;
    }
    pthread_mutex_unlock(&fc_lock);
    if (index < 0 || font->nfaces == VS_FONT_MAX_FACES)
        return -1;
    for (int i = 0; i < font->nfaces; i++)
        if (!strcmp(font->faces[i].path, path) && font->faces[i].ft->face_index == index)
            return -1; /* a face already open lacks it: fontconfig's charset disagrees */
    if (add_face(font, path, index) < 0) {
        vs_error_clear(); /* an unreadable fallback: the character shows as a box */
        return -1;
    }
    return font->nfaces - 1;
}

int vs_font_face_for(vs_font *font, uint32_t cp)
{
    for (int i = 0; i < font->nfaces; i++)
        if (FT_Get_Char_Index(font->faces[i].ft, cp))
            return i;
    /* controls and spaces shape fine with the font's own face */
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0xFE0F)
        return 0;
    int i = open_fallback(font, cp);
    return i < 0 ? 0 : i;
}
