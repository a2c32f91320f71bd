/* session.h: which console session an event belongs to.
 *
 * A console session is one sign-in of one principal.  Records carrying
 * userIdentity belong to (userIdentity.arn, sessionContext creationDate);
 * the temporary access key (ASIA...) names the same session, and
 * GetSigninToken's responseElements.credentials.accessKeyId names the key a
 * console session will use.  ConsoleLogin carries no key: it joins the
 * session of the same principal created at its time.  Events that are not
 * console activity (AWS services, long-term AKIA keys) form sessions of
 * their own.  Records with no userIdentity (minimized exports) all fall in
 * one session named "default".  Never split by region. */
#ifndef TM_SESSION_H
#define TM_SESSION_H

#include "error.h"
#include "event.h"

/* Assigns e->session for every event of vec (when not set already).
 * `forced`, when not NULL, names the session of all of them. */
int tm_session_assign(tm_eventvec *vec, const char *forced, tm_error *err);

/* What one event says about sessions: exactly the facts tm_session_assign
 * reads from it.  A store that derives sessions batch by batch
 * (server/store.c) uses them to find the stored events a new one can join
 * or move.  Two events of kind NODE or LONGTERM with equal principal,
 * access_key, creation and token_key always land in the same session,
 * whatever else is assigned with them; a LOOSE event is placed by its time
 * (rules 7-8); a FIXED one depends on nothing else. */
typedef enum {
    TM_SESSION_FIXED,    /* no userIdentity ("default") or an AWS service ("service:...") */
    TM_SESSION_NODE,     /* a temporary key and/or a creationDate (rules 4-6) */
    TM_SESSION_LONGTERM, /* a long-term key (rule 3) */
    TM_SESSION_LOOSE     /* neither key nor creationDate (rules 7-8) */
} tm_session_kind;

typedef struct tm_session_facts {
    tm_session_kind kind;
    char *principal;        /* all kinds but FIXED (malloc'd) */
    char *fixed;            /* FIXED: its session; LONGTERM: "<principal>#<key>" (malloc'd) */
    char *creation;         /* NODE: the creationDate as written in session names, or NULL (malloc'd) */
    int has_creation_ms;    /* creation parsed as a time */
    int64_t creation_ms;
    const char *access_key; /* NODE, LONGTERM: userIdentity.accessKeyId or NULL (borrowed from e->json) */
    const char *token_key;  /* GetSigninToken of kind NODE, or LOOSE from signin.amazonaws.com: the key
                               its responseElements.credentials hand out, else NULL (borrowed) */
} tm_session_facts;

int tm_session_facts_of(const tm_event *e, tm_session_facts *f, tm_error *err);
void tm_session_facts_clear(tm_session_facts *f);

/* A LOOSE event at time t joins only a session whose creation time lies in
 * [t - TM_SESSION_REACH_BEFORE_MS, t + TM_SESSION_REACH_AFTER_MS] (rules 7-8). */
#define TM_SESSION_REACH_BEFORE_MS (12 * 3600 * 1000LL)
#define TM_SESSION_REACH_AFTER_MS (5 * 60 * 1000LL)

#endif
