/* install_serve.h - the edge installer on the relay's HTTP listener (install_serve.c). */
#ifndef ONGRID_RELAY_INSTALL_SERVE_H
#define ONGRID_RELAY_INSTALL_SERVE_H

#include "relay/httpd.h"
#include "relay/relay.h"
#include "relay/relay_core.h"

/* Serve GET /install/edge.sh, /install/ongrid-edge and the edge's unit files from
 * conf->install_dir on h; nothing when install.dir is unset. -ENOSPC (too many routes). */
int install_serve_start(struct relay *r, struct httpd *h, const struct relay_conf *conf);

#endif
