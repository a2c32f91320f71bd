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

#endif
