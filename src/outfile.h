/*
 * outfile.h: a file written under a private temporary name and renamed
 * over its final name only when it is complete (SQLite's atomic commit
 * applied to outputs).
 *
 * The temporary is `.NAME.<pid>.<random>.part` in NAME's folder, created
 * with O_CREAT|O_EXCL|O_NOFOLLOW: a symlink or file planted at that name
 * (or at NAME.part) is never followed or reused, and two processes writing
 * the same NAME each have their own, so the last to finish leaves its whole
 * file. Commit fsyncs the data, renames, and fsyncs the folder, so a power
 * loss cannot leave a complete-looking NAME over missing data; it then
 * removes the temporaries of NAME that killed runs left (their process is
 * gone and they were last written before this one was made).
 *
 * Every temporary not yet committed or aborted is on one process-wide list:
 * an exit without cleanup (os.exit in a script, exit in a command) and the
 * interrupt watchdog (interrupt.h) remove them. Functions on one outfile
 * are used by one thread at a time; the list is thread-safe.
 */
#ifndef VS_OUTFILE_H
#define VS_OUTFILE_H

typedef struct vs_outfile vs_outfile;

/* Creates the temporary for path (mode 0666 less the umask, as the final
 * file would get). NULL with a message naming path on failure. */
vs_outfile *vs_outfile_create(const char *path);
/* The temporary's descriptor, open for reading and writing (-1 after
 * finish). */
int vs_outfile_fd(const vs_outfile *f);
/* fsyncs and closes the temporary: its data is complete and on disk. */
int vs_outfile_finish(vs_outfile *f);
/* Finishes if needed, renames the temporary over its path, fsyncs the
 * folder and frees f. On failure the temporary is removed and f freed. */
int vs_outfile_commit(vs_outfile *f);
/* The same to another name in the same folder, refusing to replace an
 * existing file (then -EEXIST: "exists already"), without the folder fsync:
 * the caller syncs the folder once after its last commit
 * (vs_outfile_sync_dir). For image sequences. */
int vs_outfile_commit_new(vs_outfile *f, const char *path);
/* Removes the temporary and frees f. Safe on NULL. */
void vs_outfile_abort(vs_outfile *f);
/* fsyncs the folder a path is in (or the folder itself when dir is 1). */
int vs_outfile_sync_dir(const char *path, int dir);
/* Removes every temporary still on the list (exit paths; not async-signal
 * safe: the interrupt watchdog calls it from its own thread). */
void vs_outfile_remove_all(void);

#endif
