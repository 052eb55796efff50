/* sfu/ice.c: see ice.h. After examples/deps-smoke/nice_pair.c (c-deps.md 9): UPnP and ICE-TCP
 * off, local addresses added explicitly, browser candidates parsed with an "a=" prefix. */
#include "ice.h"
#include "../common/log.h"
#include <errno.h>
#include <gio/gio.h>
#include <nice/agent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct ice {
    NiceAgent *agent; /* owned reference */
    guint stream;
    ice_cbs_t cbs;
    void *ud;
    const char *log_id;
    bool stopped, gathered, connected;
    unsigned port_min, port_max;
    char *ufrag, *pwd; /* g_free */
    /* Direct send on the selected pair when it is a UDP pair without a relay: the pair's
     * socket (a reference to libnice's GSocket; libnice closes its fd only when the stream
     * goes, and every path there clears this first: ice_stop, ice_free, a state other than
     * connected/ready, a restart) and the remote address. fd -1: send through
     * nice_agent_send (TURN, ICE-TCP, no pair yet). */
    GSocket *tx_sock;
    int tx_fd;
    struct sockaddr_storage tx_to;
    socklen_t tx_tolen;
};

/* Stops direct sends: the pair is gone, failing, or being replaced. */
static void direct_clear(ice_t *ice)
{
    if (ice->tx_sock) {
        g_object_unref(ice->tx_sock);
        ice->tx_sock = NULL;
    }
    ice->tx_fd = -1;
}

/* Direct sends on the selected pair when libnice would send a plain datagram itself: a local
 * UDP candidate that is not relayed (host, server or peer reflexive); TURN and TCP pairs keep
 * going through libnice, which frames them. */
static void direct_update(ice_t *ice)
{
    NiceCandidate *local = NULL, *remote = NULL;
    direct_clear(ice);
    if (ice->stopped ||
        !nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &local, &remote) || !local ||
        !remote || local->type == NICE_CANDIDATE_TYPE_RELAYED ||
        local->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
        return;
    }
    GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->stream, 1);
    if (!sock) {
        return;
    }
    int fam = nice_address_ip_version(&remote->addr) == 6 ? AF_INET6 : AF_INET;
    memset(&ice->tx_to, 0, sizeof ice->tx_to);
    nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&ice->tx_to);
    ice->tx_tolen = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    ice->tx_sock = sock;
    ice->tx_fd = g_socket_get_fd(sock);
}

static void on_selected_pair(NiceAgent *agent, guint stream_id, guint comp, NiceCandidate *lc,
                             NiceCandidate *rc, gpointer ud)
{
    ice_t *ice = ud;
    if (!ice->stopped && stream_id == ice->stream) {
        direct_update(ice);
    }
}

static void refresh_creds(ice_t *ice)
{
    g_free(ice->ufrag);
    g_free(ice->pwd);
    ice->ufrag = ice->pwd = NULL;
    nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->ufrag, &ice->pwd);
}

static char *cand_string(ice_t *ice, NiceCandidate *c)
{
    gchar *line = nice_agent_generate_local_candidate_sdp(ice->agent, c);
    if (!line) {
        return NULL;
    }
    char *out = g_strdup(strncmp(line, "a=", 2) == 0 ? line + 2 : line);
    g_free(line);
    return out;
}

static void on_new_candidate(NiceAgent *agent, NiceCandidate *c, gpointer ud)
{
    ice_t *ice = ud;
    if (ice->stopped || c->stream_id != ice->stream) {
        return;
    }
    char *s = cand_string(ice, c);
    if (s) {
        ice->cbs.on_candidate(ice->ud, s);
        g_free(s);
    }
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer ud)
{
    ice_t *ice = ud;
    if (ice->stopped || stream_id != ice->stream || ice->gathered) {
        return;
    }
    ice->gathered = true;
    ice->cbs.on_candidate(ice->ud, NULL);
}

static void on_component_state(NiceAgent *agent, guint stream_id, guint comp, guint state,
                               gpointer ud)
{
    ice_t *ice = ud;
    if (ice->stopped || stream_id != ice->stream) {
        return;
    }
    LOG_D("ice", "state", "\"peer\":\"%s\",\"state\":\"%s\"", ice->log_id,
          nice_component_state_to_string(state));
    if (state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) {
        if (ice->tx_fd < 0) {
            direct_update(ice);
        }
        if (!ice->connected) {
            ice->connected = true;
            ice->cbs.on_state(ice->ud, ICE_CONNECTED);
        }
    } else {
        direct_clear(ice); /* consent lost, restart, failure: libnice decides again */
    }
    if (state == NICE_COMPONENT_STATE_FAILED) {
        ice->connected = false;
        ice->cbs.on_state(ice->ud, ICE_FAILED);
    }
}

static void on_recv(NiceAgent *agent, guint stream_id, guint comp, guint len, gchar *buf,
                    gpointer ud)
{
    ice_t *ice = ud;
    if (!ice->stopped) {
        ice->cbs.on_recv(ice->ud, (uint8_t *)buf, len);
    }
}

ice_t *ice_new(sfu_t *s, bool controlling, const ice_cbs_t *cbs, void *ud, const char *log_id,
               char *err, size_t errlen)
{
    ice_t *ice = g_new0(ice_t, 1);
    ice->cbs = *cbs;
    ice->ud = ud;
    ice->tx_fd = -1;
    ice->log_id = log_id;
    ice->agent =
        nice_agent_new_full(s->ctx, NICE_COMPATIBILITY_RFC5245,
                            NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    /* Debian's libnice has UPnP on by default: it would multicast SSDP on every gather */
    g_object_set(ice->agent, "upnp", FALSE, "ice-tcp", FALSE, "ice-udp", TRUE, "controlling-mode",
                 controlling, NULL);
    for (int i = 0; i < s->cfg.n_ips; i++) {
        NiceAddress a;
        nice_address_init(&a);
        if (nice_address_set_from_string(&a, s->cfg.ip[i])) {
            nice_agent_add_local_address(ice->agent, &a);
        }
    }
    ice->stream = nice_agent_add_stream(ice->agent, 1);
    if (!ice->stream) {
        snprintf(err, errlen, "cannot add an ICE stream");
        goto fail;
    }
    nice_agent_set_port_range(ice->agent, ice->stream, 1, s->cfg.port_min, s->cfg.port_max);
    g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), ice);
    g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ice);
    g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_component_state), ice);
    g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), ice);
    nice_agent_attach_recv(ice->agent, ice->stream, 1, s->ctx, on_recv, ice);
    ice->port_min = s->cfg.port_min;
    ice->port_max = s->cfg.port_max;
    refresh_creds(ice);
    return ice;
fail:
    ice_free(ice);
    return NULL;
}

int ice_gather(ice_t *ice, char *err, size_t errlen)
{
    if (!nice_agent_gather_candidates(ice->agent, ice->stream)) {
        snprintf(err, errlen, "cannot gather ICE candidates (ports %u-%u in use?)", ice->port_min,
                 ice->port_max);
        return -1;
    }
    return 0;
}

void ice_stop(ice_t *ice)
{
    if (ice) {
        ice->stopped = true;
        direct_clear(ice);
    }
}

void ice_free(ice_t *ice)
{
    if (!ice) {
        return;
    }
    ice->stopped = true;
    direct_clear(ice);
    if (ice->agent) {
        g_signal_handlers_disconnect_by_data(ice->agent, ice);
        if (ice->stream) {
            nice_agent_attach_recv(ice->agent, ice->stream, 1, NULL, NULL, NULL);
            nice_agent_remove_stream(ice->agent, ice->stream);
        }
        g_object_unref(ice->agent);
    }
    g_free(ice->ufrag);
    g_free(ice->pwd);
    g_free(ice);
}

const char *ice_local_ufrag(const ice_t *ice)
{
    return ice->ufrag ? ice->ufrag : "";
}

const char *ice_local_pwd(const ice_t *ice)
{
    return ice->pwd ? ice->pwd : "";
}

char **ice_local_candidates(ice_t *ice)
{
    GSList *list = nice_agent_get_local_candidates(ice->agent, ice->stream, 1);
    GPtrArray *out = g_ptr_array_new();
    for (GSList *l = list; l; l = l->next) {
        char *s = cand_string(ice, l->data);
        if (s) {
            g_ptr_array_add(out, s);
        }
        nice_candidate_free(l->data);
    }
    g_slist_free(list);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool ice_gathering_done(const ice_t *ice)
{
    return ice->gathered;
}

int ice_set_remote(ice_t *ice, const char *ufrag, const char *pwd)
{
    return nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd) ? 0 : -1;
}

int ice_add_remote_candidate(ice_t *ice, const char *cand)
{
    char line[1100];
    int n = snprintf(line, sizeof line, "%s%s", strncmp(cand, "a=", 2) == 0 ? "" : "a=", cand);
    if (n < 0 || (size_t)n >= sizeof line) {
        return -1;
    }
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
    if (!c) {
        return 0;
    }
    GSList one = { c, NULL };
    int added = nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, &one);
    nice_candidate_free(c);
    return added > 0 ? 1 : 0;
}

void ice_remote_done(ice_t *ice)
{
    nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
}

int ice_restart(ice_t *ice)
{
    direct_clear(ice); /* the next selected pair says where media goes */
    if (!nice_agent_restart_stream(ice->agent, ice->stream)) {
        return -1;
    }
    refresh_creds(ice);
    return 0;
}

int ice_send(ice_t *ice, const uint8_t *buf, size_t len)
{
    if (ice->stopped) {
        return -1;
    }
    if (ice->tx_fd >= 0) {
        ssize_t n;
        do {
            n = sendto(ice->tx_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&ice->tx_to, ice->tx_tolen);
        } while (n < 0 && errno == EINTR);
        return n == (ssize_t)len ? 0 : -1;
    }
    gint n = nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)buf);
    return n == (gint)len ? 0 : -1;
}
