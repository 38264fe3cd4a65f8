/* manifest.h - which files of a problem directory `nodeoracle gen` wrote
 * (docs/formats.md, "The manifest"), so that gen replaces or removes only
 * those and never a file of the user's.
 *
 * DIR/.nodeoracle-manifest is a text file: the line "nodeoracle-manifest 1",
 * then one line per entry below DIR that gen wrote, as a path relative to
 * DIR with '/' separators, directories ending in '/' ("golden/"), sorted
 * bytewise.  It does not list itself.  gen writes it last into its private
 * temporary directory, so a directory with a manifest is complete.
 *
 * A tree is "ours" when every entry below it (symbolic links never
 * followed) is listed in its manifest with the same kind (file or
 * directory), or is the manifest itself.  A tree without a manifest can be
 * ours only as the remains of a gen that was killed while writing it
 * (partial_ok): then every entry must be a name gen writes - problem.json,
 * NAME.npy and golden/ at the top, NAME.npy, NAME.txt and provenance.json in
 * golden/ - or such a name's atomic temporary (NAME.tmp.XXXXXX). */
#ifndef NO_MANIFEST_H
#define NO_MANIFEST_H

#include <stddef.h>

#define NO_MANIFEST_NAME ".nodeoracle-manifest"

/* Write dir/.nodeoracle-manifest (atomically) listing every entry below
 * dir as it is now: dir must be a private temporary that only this process
 * wrote into (mkdtemp makes it 0700).  Returns 0, or -1 with err filled. */
int no_manifest_write(const char *dir, char *err, size_t len);

/* Is the tree dir ours?  Returns 0 (yes), 1 (no: err names the first
 * foreign entry, or the missing manifest: "DIR/ENTRY: why"), or -1 (cannot
 * read it; err filled). */
int no_manifest_check(const char *dir, int partial_ok, char *err, size_t len);

/* Remove the tree dir if it is ours (no_manifest_check), entry by entry:
 * only entries that are ours are unlinked, so a file that appears meanwhile
 * survives (and dir with it: an error).  Returns 0 (removed, or absent), 1
 * (not ours: nothing removed, err says why) or -1 (err filled). */
int no_manifest_remove(const char *dir, int partial_ok, char *err, size_t len);

#endif
