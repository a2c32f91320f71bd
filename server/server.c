/* server.c: helpers of the state trailmapd's modules share (server.h). */
#include "server.h"

#include <time.h>

int64_t tm_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

tm_ruleset *tm_server_rules(tm_server *s) {
    pthread_mutex_lock(&s->rules_mu);
    tm_ruleset *rs = tm_rules_ref(s->rules);
    pthread_mutex_unlock(&s->rules_mu);
    return rs;
}
