/* prefs/relabel.h — the reward augmentation: a canonical scored pair (formats.h) into
 * goal-conditioned pairs.
 *
 * Mode ra (the paper's): the positive copy (goal = the chosen score, chosen beats
 * rejected) and the negative copy (goal = the rejected score, the pair flipped).  Controls:
 * none (the pair as is), dup (the pair twice), half (each pair becomes its positive or its
 * negative copy, picked by a hash of its id and the seed), pos (positive copies only).
 * A fixed goal (rad_relabel_set_goal) conditions every copy of modes none and dup on the
 * same scores.
 *
 * A copy is the input object with "prompt" carrying the goal, chosen/rejected (and their
 * scores and ratings, so each still describes its own text) swapped for a flipped copy,
 * "id" = source id + "#pos"/"#neg"/"#dup1"/"#dup2" (the source id when one copy), and
 * "source_id", "half" ("pos"|"neg"|"") and "goal" (the text, "" if none) added last.
 *
 * The goal text states a scale (the paper's: 1-10), so a goal value off it would ask the
 * model for something the text calls impossible (a reward model's -0.754, a 0-100 score
 * of 90): such a pair is invalid, with a message naming how rad-score-normalize puts
 * scores on the scale. */
#ifndef RAD_RELABEL_H
#define RAD_RELABEL_H

#include <jansson.h>
#include <stdint.h>

enum rad_relabel_mode { RAD_MODE_RA, RAD_MODE_NONE, RAD_MODE_DUP, RAD_MODE_HALF, RAD_MODE_POS };
enum rad_placement { RAD_PLACE_SYSTEM, RAD_PLACE_USER };

/* The first line of the paper's goal text; then one line per attribute,
 * "Overall score: {score}." (other attributes: "Helpfulness score: {helpfulness}."). */
#define RAD_GOAL_HEADER "You are an assistant that generates responses for the instruction while " \
	"implicitly achieving the following target scores (on a scale of 1-10, where 1 is lowest and 10 is highest):"

#define RAD_GOAL_MAX_ATTRS 16

/* A goal template: literal text and {attribute} placeholders ({score} = {overall}: the
 * pair's overall score; any other name: that entry of ratings_chosen/ratings_rejected).
 * A "{" not followed by a name and "}" is literal text. */
typedef struct rad_goal_seg { char *text; size_t len; int attr; /* -1: literal */ } rad_goal_seg;
typedef struct rad_relabel {
	int mode, placement;
	int compat_unflipped_nosys;   /* the released code's nosys negative copy: goal r_l, not flipped */
	int fine_filter;              /* keep only pairs whose chosen mean rating >= rejected's */
	uint64_t seed;
	char *attrs[RAD_GOAL_MAX_ATTRS];
	int nattrs;
	rad_goal_seg *segs;
	int nsegs;
	int fixed;                    /* a fixed goal: fixed_values per attribute */
	double fixed_values[RAD_GOAL_MAX_ATTRS];
	double scale_lo, scale_hi;    /* the scale the goal text states (default 1:10) */
	/* counts */
	long long pairs_in, copies_out, dropped_fine, copies_pos, copies_neg;
} rad_relabel;

void rad_relabel_init(rad_relabel *rl);
void rad_relabel_free(rad_relabel *rl);
/* The template: the paper's text for the attributes in `attrs` (comma-separated, "overall"
 * when NULL), or a template text (a file's contents).  Returns 0 with a message in err. */
int rad_relabel_set_paper_template(rad_relabel *rl, const char *attrs, char *err, size_t n);
int rad_relabel_set_template(rad_relabel *rl, const char *text, size_t len, char *err, size_t n);
/* A fixed goal: "10" (every attribute of the template) or "overall=10,helpfulness=5". */
int rad_relabel_set_goal(rad_relabel *rl, const char *spec, char *err, size_t n);
/* NULL, or why goal values (one per rl->attrs) cannot go into the text: one is off the
 * scale.  side: whose values they are, 0 the chosen's, 1 the rejected's, -1 a fixed goal's. */
const char *rad_relabel_check_scale(const rad_relabel *rl, const double *values, int side, char *why, size_t n);
/* The goal text for the given attribute values (one per rl->attrs), malloc'd. */
char *rad_relabel_goal_text(const rad_relabel *rl, const double *values, size_t *len);

enum { RAD_RELABEL_OK, RAD_RELABEL_DROP, RAD_RELABEL_INVALID };
/* One pair into up to 2 copies (new references in out[], count in *nout). */
int rad_relabel_pair(rad_relabel *rl, const json_t *pair, json_t *out[2], int *nout,
	char *why, size_t whysz);

/* The halves mode half picks: 1 for the positive copy. */
int rad_relabel_half_is_pos(const rad_relabel *rl, const char *id, size_t len);

#endif
