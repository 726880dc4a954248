/*
 * cache.c: the probe cache, one SQLite database at
 * $XDG_CACHE_HOME/vstudio/probe.db (~/.cache/vstudio/probe.db without it).
 *
 * A row holds a video's metadata (its first audio stream's too) and its frame index (presentation and
 * decode timestamps and keyframe flags as three blobs: NULL when not built
 * yet, empty when the stream has no usable timestamps), keyed by the
 * absolute path and checked against the file's device, inode, size, mtime
 * and ctime (ns): a file that changed is a miss and is probed again, its
 * row replaced. ctime catches a file rewritten in place and given its old
 * mtime back (`cat b > a; touch -r ref a`, `rsync --inplace -t`); the stat
 * is the one of the descriptor probe.c read, so a file replaced during a
 * probe is never stored under the new file's key.
 *
 * Concurrency: WAL mode and a busy timeout let several processes read and
 * write at once; inside a process each thread has its own connection (a
 * pthread key closes it when the thread ends), so parallel probes never
 * share a handle. The cache is an optimisation only: a directory we cannot
 * create or write is a warning and the caller works uncached; a database
 * that is not SQLite or is corrupt is deleted and rebuilt with a warning.
 * Creating, checking and rebuilding the database happen under an flock on
 * probe.db.lock, so two processes starting on an empty cache do not race;
 * a lock held longer than LOCK_WAIT_MS (a process stopped while holding
 * it) is a note and this process works uncached. A database of another
 * schema version (PRAGMA user_version) has its table dropped and made anew.
 * Directory mode 0700, file mode 0600 (SQLite gives -wal and -shm the
 * database file's mode).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "probe.h"

/* Bump when the table or the meaning of a row changes: a database of
 * another version is emptied and made anew, so its files are probed again
 * (v2: device, ctime, decode timestamps, VFR; v3: the audio stream; v4: an
 * MP4 whose edit list discards its first keyframe lost the frames up to the
 * next keyframe from its count and index). */
enum { SCHEMA_VERSION = 4 };
/* How long setup waits for another process's setup lock. */
enum { LOCK_WAIT_MS = 3000 };

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    int dead;          /* opening failed: this thread works uncached */
} conn;

static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;
static atomic_int warned;

static void warn(const char *fmt, const char *a, const char *b)
{
    /* one warning per process: a batch of 1000 probes says it once */
    if (atomic_exchange(&warned, 1))
        return;
    fprintf(stderr, "vstudio: warning: probe cache ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
}

static void conn_close(void *p)
{
    conn *c = p;
    if (!c)
        return;
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    sqlite3_close(c->db);
    free(c);
}

/* Key destructors run when threads exit, but not for the thread that calls
 * exit(): close that one's connection from atexit (clean under valgrind). */
static void close_at_exit(void)
{
    conn *c = pthread_getspecific(conn_key);
    pthread_setspecific(conn_key, NULL);
    conn_close(c);
}

static void make_key(void)
{
    pthread_key_create(&conn_key, conn_close);
    atexit(close_at_exit);
}

int vs_cache_path(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/vstudio/probe.db", xdg);
    else {
        const char *home = getenv("HOME");
        if (!home || !home[0])
            return -1;
        n = snprintf(buf, size, "%s/.cache/vstudio/probe.db", home);
    }
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* mkdir -p of the database's directory, new directories 0700. */
static int make_dirs(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    *slash = '\0';
    int rc = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        rc = make_dirs(path);
        if (rc == 0 && mkdir(path, 0700) != 0 && errno != EEXIST)
            rc = -1;
    } else if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    *slash = '/';
    return rc;
}

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS probe("
    " path TEXT PRIMARY KEY, dev INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,"
    " width INTEGER, height INTEGER, fps_num INTEGER, fps_den INTEGER, frames INTEGER,"
    " duration REAL, bit_rate INTEGER, codec TEXT, pix_fmt TEXT, container TEXT, vfr INTEGER,"
    " pts BLOB, dts BLOB, keys BLOB, audio_streams INTEGER, audio_rate INTEGER, audio_channels INTEGER,"
    " audio_codec TEXT, audio_duration REAL, audio_samples INTEGER);";

static int is_corrupt(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static void remove_db(const char *path)
{
    char aux[PATH_MAX + 8];
    unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path);
    unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    unlink(aux);
}

/* An advisory lock on PATH.lock that serialises creating, checking and
 * rebuilding the database between processes and threads. A file of its
 * own: opening and closing the database file itself would drop the POSIX
 * locks SQLite holds on it for other connections of this process. Returns
 * the descriptor, or -1 when there is no lock (we go on without). */
static int setup_lock(const char *path)
{
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    /* a bounded wait: a holder that is stopped must not stop us */
    for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 20) {
        if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= LOCK_WAIT_MS) {
            close(fd);
            return errno == EWOULDBLOCK ? -2 : -1;
        }
        usleep(20 * 1000);
    }
    return fd;
}

static void setup_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* A database of another schema version loses its table (the rows are only
 * a cache: SCHEMA makes it anew); called under the setup lock. */
static int migrate(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    rc = sqlite3_finalize(s);
    if (rc != SQLITE_OK || version == SCHEMA_VERSION)
        return rc;
    char sql[96];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS probe; PRAGMA user_version = %d;", SCHEMA_VERSION);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Opens and prepares; returns an SQLite code (SQLITE_OK or the failure). */
static int conn_setup(conn *c, const char *path)
{
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return rc;
    /* 0600 whatever the umask, before -wal and -shm exist (they copy it) */
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 0777) != 0600 && st.st_uid == geteuid())
        chmod(path, 0600);
    sqlite3_busy_timeout(c->db, 5000);
    if ((rc = migrate(c->db)) != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_exec(c->db, SCHEMA, NULL, NULL, NULL)) != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_prepare_v2(c->db,
                                 "SELECT dev, inode, size, mtime_ns, ctime_ns, width, height, fps_num, fps_den,"
                                 " frames, duration, bit_rate, codec, pix_fmt, container, vfr, pts, dts, keys,"
                                 " audio_streams, audio_rate, audio_channels, audio_codec, audio_duration,"
                                 " audio_samples"
                                 " FROM probe WHERE path = ?1",
                                 -1, &c->get, NULL)) != SQLITE_OK)
        return rc;
    return sqlite3_prepare_v2(c->db,
                              "INSERT OR REPLACE INTO probe VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                              " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
                              -1, &c->put, NULL);
}

static void conn_reset(conn *c)
{
    sqlite3_finalize(c->get);
    sqlite3_finalize(c->put);
    sqlite3_close(c->db);
    c->get = c->put = NULL;
    c->db = NULL;
}

/* PRAGMA quick_check on an open connection: 1 when the database is sound. */
static int db_sound(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int ok = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL) == SQLITE_OK &&
             sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) &&
             strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
    sqlite3_finalize(s);
    return ok;
}

/* (Re)opens c under the setup lock; a database that is not SQLite or
 * fails its check (`check`: also run quick_check) is deleted and made
 * anew with a warning. Returns 0, or -1 when the cache is unusable. */
static int conn_open_locked(conn *c, const char *path, int check)
{
    int lock = setup_lock(path);
    if (lock == -2) {
        warn("%s.lock: held by another process for over %s; working without the cache", path, "3 s");
        return -1;
    }
    int rc = conn_setup(c, path);
    int corrupt = rc != SQLITE_OK ? is_corrupt(rc) : check && !db_sound(c->db);
    if (corrupt) {
        warn("%s: %s; rebuilding it", path, "not a valid database (corrupt)");
        conn_reset(c);
        remove_db(path);
        rc = conn_setup(c, path);
    }
    if (rc != SQLITE_OK) {
        const char *why = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
        warn("%s: cannot open (%s); working without it", path, why);
        conn_reset(c);
    }
    setup_unlock(lock);
    return rc == SQLITE_OK ? 0 : -1;
}

static int conn_open(conn *c)
{
    char path[PATH_MAX];
    if (vs_cache_path(path, sizeof path) < 0) {
        warn("%s%s: no HOME or XDG_CACHE_HOME; working without it", "", "");
        return -1;
    }
    if (make_dirs(path) < 0) {
        warn("%s: cannot create its directory (%s); working without it", path, strerror(errno));
        return -1;
    }
    return conn_open_locked(c, path, 0);
}

/* This thread's connection, NULL when the cache is unusable. */
static conn *conn_get(void)
{
    pthread_once(&conn_once, make_key);
    conn *c = pthread_getspecific(conn_key);
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return NULL;
        if (conn_open(c) < 0)
            c->dead = 1;
        pthread_setspecific(conn_key, c);
    }
    return c->dead ? NULL : c;
}

/* A failure during use: a corruption code is confirmed with quick_check
 * under the setup lock (another process may have been rebuilding) before
 * the database is rebuilt; anything else just makes this call uncached. */
static void conn_failed(conn *c, int rc)
{
    if (!is_corrupt(rc))
        return;
    char path[PATH_MAX];
    conn_reset(c);
    if (vs_cache_path(path, sizeof path) < 0 || conn_open_locked(c, path, 1) < 0)
        c->dead = 1;
}

static int64_t ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The row's key columns (dev, inode, size, mtime, ctime) match st. */
static int same_file(sqlite3_stmt *s, const struct stat *st)
{
    return sqlite3_column_int64(s, 0) == (int64_t)st->st_dev && sqlite3_column_int64(s, 1) == (int64_t)st->st_ino &&
           sqlite3_column_int64(s, 2) == (int64_t)st->st_size && sqlite3_column_int64(s, 3) == ns(st->st_mtim) &&
           sqlite3_column_int64(s, 4) == ns(st->st_ctim);
}

/* The stored index (columns 16-18) for `frames` frames: 1 and *index (NULL
 * for an empty one: no usable timestamps), or 0 when it is malformed or
 * out of memory. */
static int read_index(sqlite3_stmt *s, int64_t frames, vs_index **index)
{
    *index = NULL;
    int np = sqlite3_column_bytes(s, 16), nd = sqlite3_column_bytes(s, 17), nk = sqlite3_column_bytes(s, 18);
    const void *pts = sqlite3_column_blob(s, 16), *dts = sqlite3_column_blob(s, 17), *keys = sqlite3_column_blob(s, 18);
    if (np == 0 && nd == 0 && nk == 0)
        return 1;
    if (!pts || !dts || !keys || frames <= 0 || np != (int)(frames * 8) || nd != np || nk != (int)frames)
        return 0;
    vs_index *ix = calloc(1, sizeof *ix);
    if (!ix || !(ix->pts = malloc((size_t)np)) || !(ix->dts = malloc((size_t)nd)) || !(ix->key = malloc((size_t)nk))) {
        vs_index_free(ix);
        return 0;
    }
    ix->n = frames;
    memcpy(ix->pts, pts, (size_t)np);
    memcpy(ix->dts, dts, (size_t)nd);
    memcpy(ix->key, keys, (size_t)nk);
    *index = ix;
    return 1;
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
    snprintf(dst, size, "%s", src ? (const char *)src : "");
}

int vs_cache_lookup(const char *abspath, const struct stat *st, vs_probe_info *info, vs_index **index,
                    vs_index_need need)
{
    conn *c = conn_get();
    if (!c)
        return 0;
    sqlite3_stmt *s = c->get;
    int hit = 0;
    sqlite3_bind_text(s, 1, abspath, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && same_file(s, st)) {
        vs_probe_info in = {0};
        in.width = sqlite3_column_int(s, 5);
        in.height = sqlite3_column_int(s, 6);
        in.fps_num = sqlite3_column_int(s, 7);
        in.fps_den = sqlite3_column_int(s, 8);
        in.frames = sqlite3_column_int64(s, 9);
        in.duration = sqlite3_column_double(s, 10);
        in.bit_rate = sqlite3_column_int64(s, 11);
        copy_text(in.codec, sizeof in.codec, sqlite3_column_text(s, 12));
        copy_text(in.pix_fmt, sizeof in.pix_fmt, sqlite3_column_text(s, 13));
        copy_text(in.container, sizeof in.container, sqlite3_column_text(s, 14));
        in.vfr = sqlite3_column_int(s, 15);
        in.audio_streams = sqlite3_column_int(s, 19);
        in.audio_rate = sqlite3_column_int(s, 20);
        in.audio_channels = sqlite3_column_int(s, 21);
        copy_text(in.audio_codec, sizeof in.audio_codec, sqlite3_column_text(s, 22));
        in.audio_duration = sqlite3_column_double(s, 23);
        in.audio_samples = sqlite3_column_int64(s, 24);
        hit = 1;
        if (index && sqlite3_column_type(s, 16) == SQLITE_NULL)
            hit = need != VS_INDEX_BUILD; /* stored without an index (a quick count) */
        else if (index)
            hit = read_index(s, in.frames, index);
        if (hit)
            *info = in;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        conn_failed(c, rc);
        return 0;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return hit;
}

void vs_cache_store(const char *abspath, const struct stat *st, const vs_probe_info *info, const vs_index *index,
                    int indexed)
{
    conn *c = conn_get();
    if (!c)
        return;
    sqlite3_stmt *s = c->put;
    sqlite3_bind_text(s, 1, abspath, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)st->st_dev);
    sqlite3_bind_int64(s, 3, (int64_t)st->st_ino);
    sqlite3_bind_int64(s, 4, (int64_t)st->st_size);
    sqlite3_bind_int64(s, 5, ns(st->st_mtim));
    sqlite3_bind_int64(s, 6, ns(st->st_ctim));
    sqlite3_bind_int(s, 7, info->width);
    sqlite3_bind_int(s, 8, info->height);
    sqlite3_bind_int(s, 9, info->fps_num);
    sqlite3_bind_int(s, 10, info->fps_den);
    sqlite3_bind_int64(s, 11, info->frames);
    sqlite3_bind_double(s, 12, info->duration);
    sqlite3_bind_int64(s, 13, info->bit_rate);
    sqlite3_bind_text(s, 14, info->codec, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 15, info->pix_fmt, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 16, info->container, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 17, info->vfr);
    sqlite3_bind_int(s, 21, info->audio_streams);
    sqlite3_bind_int(s, 22, info->audio_rate);
    sqlite3_bind_int(s, 23, info->audio_channels);
    sqlite3_bind_text(s, 24, info->audio_codec, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 25, info->audio_duration);
    sqlite3_bind_int64(s, 26, info->audio_samples);
    if (index && index->n == info->frames) {
        sqlite3_bind_blob64(s, 18, index->pts, (sqlite3_uint64)index->n * 8, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 19, index->dts, (sqlite3_uint64)index->n * 8, SQLITE_STATIC);
        sqlite3_bind_blob64(s, 20, index->key, (sqlite3_uint64)index->n, SQLITE_STATIC);
    } else if (indexed) {
        /* scanned, but the stream has no usable timestamps: empty blobs */
        for (int k = 18; k <= 20; k++)
            sqlite3_bind_zeroblob(s, k, 0);
    } else {
        for (int k = 18; k <= 20; k++)
            sqlite3_bind_null(s, k);
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        conn_failed(c, rc);
}
