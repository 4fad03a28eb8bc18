/* promql_ast.h - internal to promql_*.c: tokens, the syntax tree and the function table.
 *
 * The lexer hands out one token at a time; the parser (recursive descent with a depth
 * limit) builds a typed tree; the evaluator walks it. Positions are 0-based byte offsets
 * here and become 1-based columns only in messages.
 */
#ifndef ONGRID_PROMQL_AST_H
#define ONGRID_PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/tsdb/promql.h"
#include "shared/diag.h"

enum promql_tok {
	TOK_EOF,
	TOK_IDENT,
	TOK_NUMBER,
	TOK_DURATION,
	TOK_STRING,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_COMMA,
	TOK_ASSIGN, /* = in a matcher */
	TOK_NEQ,    /* != */
	TOK_RE,     /* =~ */
	TOK_NRE,    /* !~ */
	TOK_EQLC,   /* == */
	TOK_LSS,
	TOK_GTR,
	TOK_LTE,
	TOK_GTE,
	TOK_ADD,
	TOK_SUB,
	TOK_MUL,
	TOK_DIV,
	TOK_MOD,
	TOK_POW,
	TOK_COLON, /* subqueries: recognised only to refuse them by name */
	TOK_AT,    /* @ modifier: likewise */
	_TOK_MAX
};

struct promql_token {
	enum promql_tok type;
	size_t pos;     /* byte offset of the first character */
	size_t len;     /* bytes in the source */
	double num;     /* TOK_NUMBER */
	int64_t dur_ms; /* TOK_DURATION */
	char *str;      /* TOK_STRING: the unescaped value, owned by the token */
};

struct promql_lexer {
	const char *src;
	size_t len;
	size_t off;
};

/* Scan the next token into tok (whose str is freed first). -EINVAL with d set on a
 * malformed token (unterminated string, bad escape, stray character). */
int promql_lex_next(struct promql_lexer *lx, struct promql_token *tok, struct diag *d);
void promql_token_release(struct promql_token *tok);
/* "')'", "end of input", "identifier 'foo'", "number '5'" into out. */
void promql_token_describe(const struct promql_lexer *lx, const struct promql_token *tok, char *out,
                           size_t outsz);

enum promql_kind {
	NODE_NUMBER,
	NODE_SELECTOR, /* instant vector selector, or range when range_ms > 0 */
	NODE_CALL,
	NODE_AGG,
	NODE_BINARY,
	NODE_UNARY,
};

enum promql_op {
	/* binary, in the order of promql_op_names */
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_POW,
	OP_EQLC,
	OP_NEQ,
	OP_GTR,
	OP_LSS,
	OP_GTE,
	OP_LTE,
	_OP_MAX
};
extern const char *const promql_op_names[_OP_MAX];

enum promql_agg { AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX, AGG_COUNT, AGG_TOPK, AGG_BOTTOMK, _AGG_MAX };
extern const char *const promql_agg_names[_AGG_MAX];

enum promql_fn_id {
	FN_RATE,
	FN_IRATE,
	FN_INCREASE,
	FN_DELTA,
	FN_IDELTA,
	FN_AVG_OVER_TIME,
	FN_MIN_OVER_TIME,
	FN_MAX_OVER_TIME,
	FN_SUM_OVER_TIME,
	FN_COUNT_OVER_TIME,
	FN_LAST_OVER_TIME,
	FN_QUANTILE_OVER_TIME,
	FN_HISTOGRAM_QUANTILE,
	FN_ABS,
	FN_CEIL,
	FN_FLOOR,
	FN_SQRT,
	FN_EXP,
	FN_LN,
	FN_CLAMP_MIN,
	FN_CLAMP_MAX,
	FN_SCALAR,
	FN_VECTOR,
	FN_TIME,
	_FN_MAX
};

#define PROMQL_MAX_ARGS 2

/* Ranges and offsets past a century are typos, and refusing them keeps every time
 * computation (ms since the epoch, plus or minus a duration) far from int64 overflow. */
#define PROMQL_MAX_DURATION_MS (100LL * 365 * 86400000)
/* Evaluation times must lie within +-PROMQL_MAX_TIME_MS of the epoch (about year 33000). */
#define PROMQL_MAX_TIME_MS     1000000000000000LL

struct promql_func {
	const char *name;
	enum promql_fn_id id;
	unsigned nargs;
	enum promql_type args[PROMQL_MAX_ARGS];
	enum promql_type ret;
};
extern const struct promql_func promql_funcs[_FN_MAX];
const struct promql_func *promql_func_lookup(const char *name, size_t len);

struct promql_matcher {
	char *name;
	enum tsdb_match_op op;
	char *value;
};

struct promql_expr {
	enum promql_kind kind;
	enum promql_type type;
	size_t pos;     /* byte offset where the expression starts */
	unsigned depth; /* height of this subtree: bounded so every walk's recursion is */

	double num; /* NODE_NUMBER */

	/* NODE_SELECTOR */
	struct promql_matcher *matchers; /* includes __name__="x" for a metric name */
	size_t nmatchers;
	int64_t range_ms;  /* > 0 for a range selector */
	int64_t offset_ms; /* may be negative */

	/* NODE_CALL */
	const struct promql_func *fn;
	struct promql_expr *args[PROMQL_MAX_ARGS];
	unsigned nargs;

	/* NODE_AGG: param (topk's k) and expr; grouping labels */
	enum promql_agg agg;
	struct promql_expr *param;
	char **grouping;
	size_t ngrouping;
	bool without;

	/* NODE_BINARY: lhs op rhs; NODE_UNARY (negation): lhs. Parentheses leave no node. */
	enum promql_op op;
	struct promql_expr *lhs, *rhs;
	bool bool_mod;
	bool on, ignoring; /* vector matching; the labels are in grouping */
};

bool promql_op_is_comparison(enum promql_op op);

#endif
