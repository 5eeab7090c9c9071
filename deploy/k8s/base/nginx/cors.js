/*
 * Reelhouse edge CORS decisions (njs 0.7.9, loaded by edge.conf with `js_import cors from ...`).
 * The policy is docs/security.md, "Browsers on other origins (CORS)".
 *
 * Configuration: $cors_allowed_origins (js_var in edge.conf): a comma-separated allowlist of
 * origins ("https://app.example.com,http://localhost:5173"); empty = same origin only.
 *
 *  allowOrigin() - js_set $cors_allow_origin: the request's Origin when it is on the allowlist, else ""
 *                  (nginx sends no header with an empty value: no CORS headers at all).
 *  refused()     - js_set $cors_refused: "1" when a browser on a foreign origin that is not on the
 *                  list asks for something the edge must refuse (a preflight, a WebSocket upgrade),
 *                  else "". A request without Origin (curl, apps) and a same-origin request (Origin's
 *                  host:port equals Host) are never refused.
 *
 * Origins compare case-insensitively, without a trailing slash. njs 0.7.9: no let/const/arrow
 * functions, so plain ES5.
 */

var ORIGIN_RE = /^[a-z][a-z0-9+.-]*:\/\/([^\/?#]+)$/;

function normalize(origin) {
    return String(origin || '').trim().toLowerCase().replace(/\/+$/, '');
}

function allowlist(r) {
    var raw = r.variables.cors_allowed_origins || '';
    var out = [];
    var parts = raw.split(',');
    for (var i = 0; i < parts.length; i++) {
        var origin = normalize(parts[i]);
        if (origin) {
            out.push(origin);
        }
    }
    return out;
}

function allowOrigin(r) {
    var origin = r.headersIn.Origin;
    if (!origin) {
        return '';
    }
    return allowlist(r).indexOf(normalize(origin)) >= 0 ? origin : '';
}

function sameOrigin(r, origin) {
    var m = ORIGIN_RE.exec(normalize(origin));
    var host = String(r.headersIn.Host || '').toLowerCase();
    return m !== null && host !== '' && m[1] === host;
}

function refused(r) {
    var origin = r.headersIn.Origin;
    if (!origin || allowOrigin(r) || sameOrigin(r, origin)) {
        return '';
    }
    return '1';
}

export default { allowOrigin, refused };
