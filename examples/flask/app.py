# -*- coding: utf-8 -*-
"""Google's Python/Flask sample for the OAuth 2.0 web-server flow, rewritten
to let riscd hold the user's Google credentials.

Google's sample (https://developers.google.com/identity/protocols/oauth2/web-server#example)
runs the authorization flow itself, keeps the access and refresh tokens in
the Flask session, lets the Google library refresh them and revokes them at
https://oauth2.googleapis.com/revoke. This app keeps none of that: riscd
runs the consent flow (a connect session), stores and refreshes the tokens,
hands out a fresh access token for each call, revokes the grant when asked,
and tells the app by a signed webhook when Google reports the account
hijacked or its sessions revoked, so that the app signs the user out.

Routes, as in the sample: / (the index), /authorize (connect Google Drive
through riscd), /connected (where riscd sends the browser back), /test
(list the user's Drive files), /revoke, /clear; and /login, /logout for the
app's own users, /riscd/webhook for riscd's webhooks.

Configuration, from the environment:

  RISCD_URL                  riscd's internal listener (default http://127.0.0.1:9090)
  RISCD_APP_TOKEN_FILE       file holding riscd's app token (internal.app_token_file),
                             or RISCD_APP_TOKEN, the token itself
  RISCD_WEBHOOK_SECRET_FILE  file holding companion.webhook_secret ("whsec_..."),
                             or RISCD_WEBHOOK_SECRET, the secret itself; unset: the
                             webhook route answers 503
  GOOGLE_API_URL             base of Google's APIs (default https://www.googleapis.com)
  FLASK_SECRET_KEY           signs the Flask session cookie (default: random per start)
  HOST, PORT                 where to listen (default 127.0.0.1 and 5000)

Only Debian's python3-flask and python3-requests are needed.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import urllib.parse

import flask
import requests
from markupsafe import escape

# The scope of the sample's Drive call (riscd's feature "drive" must have it).
DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive.metadata.readonly'
# Standard Webhooks: a webhook-timestamp further than this from now is
# refused (https://www.standardwebhooks.com, "Verifying webhook authenticity").
WEBHOOK_TOLERANCE = 5 * 60
# App user ids this sample accepts at sign-in.
USER_RE = re.compile(r'^[a-z0-9][a-z0-9._-]{0,63}$')


def read_secret(name):
  """The value of $NAME_FILE's file, or of $NAME; '' when neither is set."""
  path = os.environ.get(name + '_FILE', '')
  if path:
    with open(path, encoding='utf-8') as f:
      return f.read().strip()
  return os.environ.get(name, '').strip()


RISCD_URL = os.environ.get('RISCD_URL', 'http://127.0.0.1:9090').rstrip('/')
RISCD_APP_TOKEN = read_secret('RISCD_APP_TOKEN')
WEBHOOK_SECRET = read_secret('RISCD_WEBHOOK_SECRET')
GOOGLE_API_URL = os.environ.get('GOOGLE_API_URL', 'https://www.googleapis.com').rstrip('/')

app = flask.Flask(__name__)
app.secret_key = os.environ.get('FLASK_SECRET_KEY') or secrets.token_bytes(32)
app.config.update(
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE='Lax',  # no cross-site POST carries the session
    MAX_CONTENT_LENGTH=1 << 20,     # webhooks are small
)

# The time before which each app user's sessions are over, set by riscd's
# webhooks. A real app keeps this beside its users, in its database; one
# process's memory is enough for the sample.
_ended_before = {}
_ended_lock = threading.Lock()


class RiscdError(Exception):
  """riscd's refusal: the HTTP status and riscd's error code."""

  def __init__(self, status, code, detail):
    super().__init__('riscd answered %d %s' % (status, code))
    self.status, self.code, self.detail = status, code, detail


def riscd(method, path, body=None):
  """Calls riscd's companion API with the app token; returns the JSON
  answer (None for 204) or raises RiscdError."""
  try:
    resp = requests.request(method, RISCD_URL + path, json=body, timeout=30,
                            headers={'Authorization': 'Bearer ' + RISCD_APP_TOKEN})
  except requests.RequestException:
    raise RiscdError(503, 'unreachable', 'riscd did not answer') from None
  if resp.status_code >= 400:
    try:
      err = resp.json()
    except ValueError:
      err = {}
    raise RiscdError(resp.status_code, err.get('error', ''), err.get('detail'))
  return resp.json() if resp.content else None


def refused(title, e):
  """A page telling riscd's refusal: its status, code and, when riscd gave
  one, its explanation (riscd's messages hold no secret)."""
  detail = e.detail if isinstance(e.detail, str) else ''
  return page(title, '<p id="riscd-error">riscd answered %d %s. %s</p>'
              % (e.status, escape(e.code), escape(detail)) + print_index_table(), 502)


def page(title, body, status=200):
  html = ('<!doctype html><meta charset="utf-8"><title>%s</title>' % escape(title) +
          '<h1>%s</h1>%s' % (escape(title), body))
  return flask.make_response(html, status)


@app.before_request
def end_revoked_session():
  """Signs the session out when riscd ended its user's sessions after it
  began (the "ended before" time a webhook recorded)."""
  user = flask.session.get('user')
  if not user or flask.request.endpoint in ('login', 'webhook'):
    return None
  with _ended_lock:
    ended = _ended_before.get(user)
  if ended is not None and flask.session.get('signed_in_at', 0) < ended:
    flask.session.clear()
    return page('Signed out',
                '<p id="signed-out">Google reported that the account of <b>%s</b> may be compromised: '
                'you have been signed out.</p>' % escape(user) + login_form())
  return None


def current_user():
  return flask.session.get('user')


@app.route('/')
def index():
  user = current_user()
  if not user:
    return page('riscd Flask example', login_form())
  account = flask.session.get('email') or 'no Google account connected yet'
  return page('riscd Flask example',
              '<p>Signed in as <b id="user">%s</b>; Google account: <b id="account">%s</b>.</p>'
              % (escape(user), escape(account)) + print_index_table())


def login_form():
  return ('<form method="post" action="/login">'
          '<label>User name <input id="username" name="user" pattern="[a-z0-9][a-z0-9._\\-]{0,63}" required></label> '
          '<button id="login" type="submit">Sign in</button></form>')


@app.route('/login', methods=['POST'])
def login():
  # A sample's sign-in: the user name is the app user. A real app signs its
  # users in its own way; riscd only needs a stable id for each.
  user = flask.request.form.get('user', '')
  if not USER_RE.match(user):
    return page('Sign in', '<p>Choose a user name of lower-case letters and digits.</p>' + login_form(), 400)
  flask.session.clear()
  flask.session['user'] = user
  flask.session['signed_in_at'] = time.time()
  return flask.redirect('/')


@app.route('/logout', methods=['POST'])
def logout():
  flask.session.clear()
  return flask.redirect('/')


@app.route('/test')
def test_api_request():
  user = current_user()
  if not user:
    return flask.redirect('/')
  # A fresh access token for this call; riscd refreshes it when it is about
  # to expire. The app keeps no token, not even this one.
  try:
    tok = riscd('POST', '/v1/token', {'app_user': user, 'scopes': [DRIVE_SCOPE]})
  except RiscdError as e:
    if e.code in ('no_grant', 'missing_scopes'):
      return flask.redirect('/authorize')  # as the sample: consent first
    if e.code == 'grant_unavailable':
      state = (e.detail or {}).get('state', '')
      return page('Drive', '<p id="unavailable">Google access is %s: connect again.</p>'
                  % escape(state) + print_index_table(), 409)
    return refused('Drive', e)
  files = requests.get(GOOGLE_API_URL + '/drive/v3/files', timeout=30,
                       headers={'Authorization': 'Bearer ' + tok['access_token']})
  if files.status_code != 200:
    return page('Drive', '<p>Drive answered %d.</p>' % files.status_code, 502)
  return flask.jsonify(**files.json())


@app.route('/authorize')
def authorize():
  user = current_user()
  if not user:
    return flask.redirect('/')
  # riscd runs the consent flow: offline access, incremental authorization
  # and the state check are its business. It sends the browser back to
  # /connected with connect_id and status.
  try:
    cs = riscd('POST', '/v1/connect', {
        'app_user': user,
        'features': ['drive'],
        'return_to': flask.url_for('connected', _external=True),
    })
  except RiscdError as e:
    return refused('Connect', e)  # e.g. /connected is not in companion.return_urls
  flask.session['connect_id'] = cs['id']
  return flask.redirect(cs['url'])


@app.route('/connected')
def connected():
  user = current_user()
  if not user:
    return flask.redirect('/')
  connect_id = flask.request.args.get('connect_id', '')
  # Only the session this browser started, for this user, counts: a link
  # planted by someone else names another session.
  if not connect_id or connect_id != flask.session.pop('connect_id', None):
    return page('Connect', '<p id="connect-error">This is not the connection you started.</p>'
                + print_index_table(), 400)
  try:
    res = riscd('GET', '/v1/connect/' + urllib.parse.quote(connect_id, safe=''))
  except RiscdError as e:
    return refused('Connect', e)
  # The query's status is a hint; riscd's answer is the outcome.
  if res['status'] != 'connected' or res['app_user'] != user:
    return page('Connect', '<p id="connect-error">Google access was not granted (%s).</p>'
                % escape(res.get('error') or res['status']) + print_index_table())
  flask.session['sub'] = res['sub']
  flask.session['email'] = res['email']
  flask.session['features'] = res['features']
  return flask.redirect('/')


@app.route('/revoke', methods=['POST'])
def revoke():
  user, sub = current_user(), flask.session.get('sub')
  if not user or not sub:
    return page('Revoke', 'You need to <a href="/authorize">authorize</a> before '
                'testing the code to revoke credentials.')
  # riscd unlinks the account from the user and revokes the grant at Google.
  try:
    riscd('DELETE', '/v1/users/%s/links/%s?revoke=true'
          % (urllib.parse.quote(user, safe=''), urllib.parse.quote(sub, safe='')))
  except RiscdError as e:
    return refused('Revoke', e)
  for k in ('sub', 'email', 'features'):
    flask.session.pop(k, None)
  return page('Revoke', '<p id="revoked">Credentials successfully revoked.</p>' + print_index_table())


@app.route('/clear', methods=['POST'])
def clear_credentials():
  # The sample dropped the tokens from the Flask session, so the next call
  # went back through the authorization flow. Here the session never held
  # any: this forgets which Google account the session saw, and /test still
  # works, since riscd serves the user's grant to any session of theirs.
  for k in ('sub', 'email', 'features'):
    flask.session.pop(k, None)
  return page('Clear', '<p>The session forgot its Google account.</p>' + print_index_table())


@app.route('/riscd/webhook', methods=['POST'])
def webhook():
  """riscd's webhooks (Standard Webhooks). When riscd ended a Google
  account's sessions (signin_disabled, held or end_sessions_before), the app ends its own
  sessions of every app user linked to that account."""
  if not WEBHOOK_SECRET:
    return flask.jsonify(error='no webhook secret configured'), 503
  body = flask.request.get_data(cache=False)
  if not verify_webhook(WEBHOOK_SECRET, flask.request.headers, body, time.time()):
    return flask.jsonify(error='bad signature or timestamp'), 401
  try:
    event = json.loads(body)
  except ValueError:
    event = None
  if not isinstance(event, dict):
    return flask.jsonify(error='not a JSON object'), 400
  if ends_sessions(event):
    # Every session existing when the app learns of it ends: the event's
    # own "at" may be older than a session begun a moment before.
    now = time.time()
    with _ended_lock:
      for user in event.get('app_users') or []:
        if isinstance(user, str):
          _ended_before[user] = max(_ended_before.get(user, 0), now)
  return '', 204


def ends_sessions(event):
  """riscd's one rule (README, "Ending the app's sessions"): sessions end
  while signin_disabled or held, and those created at or before
  end_sessions_before. This sample ends every session existing when the
  webhook arrives, which covers all three."""
  return bool(event.get('signin_disabled') or event.get('held') or event.get('end_sessions_before'))


def verify_webhook(secret, headers, body, now):
  """Standard Webhooks: HMAC-SHA256 of "<id>.<timestamp>.<body>" keyed with
  the base64-decoded secret after "whsec_", sent as "v1,<base64>" (several
  space-separated during a rotation), timestamp within 5 minutes."""
  msg_id = headers.get('webhook-id', '')
  ts = headers.get('webhook-timestamp', '')
  sigs = headers.get('webhook-signature', '')
  if not msg_id or not ts.isdigit() or not sigs:
    return False
  if abs(now - int(ts)) > WEBHOOK_TOLERANCE:
    return False
  try:
    key = base64.b64decode(secret.removeprefix('whsec_'), validate=True)
  except binascii.Error:
    return False
  want = hmac.new(key, msg_id.encode() + b'.' + ts.encode() + b'.' + body, hashlib.sha256).digest()
  for sig in sigs.split():
    version, _, b64 = sig.partition(',')
    if version != 'v1':
      continue
    try:
      got = base64.b64decode(b64, validate=True)
    except binascii.Error:
      continue
    if hmac.compare_digest(got, want):
      return True
  return False


def print_index_table():
  def button(action, label, id_):
    return ('<form method="post" action="%s" style="display:inline">'
            '<button id="%s" type="submit">%s</button></form>' % (action, id_, label))
  return ('<table>' +
          '<tr><td><a id="test" href="/test">Test an API request</a></td>' +
          '<td>List your Drive files with a token riscd hands out. Connects Drive ' +
          '    first if riscd holds no grant for you.</td></tr>' +
          '<tr><td><a id="authorize" href="/authorize">Test the auth flow directly</a></td>' +
          '<td>Connect Google Drive through riscd\'s consent pages.</td></tr>' +
          '<tr><td>' + button('/revoke', 'Revoke current credentials', 'revoke') + '</td>' +
          '<td>riscd unlinks the Google account and revokes its grant at Google.</td></tr>' +
          '<tr><td>' + button('/clear', 'Clear Flask session credentials', 'clear') + '</td>' +
          '<td>Forget the account in this session; riscd still holds the grant.</td></tr>' +
          '<tr><td>' + button('/logout', 'Sign out', 'logout') + '</td><td></td></tr></table>')


if __name__ == '__main__':
  if not RISCD_APP_TOKEN:
    raise SystemExit('set RISCD_APP_TOKEN_FILE (or RISCD_APP_TOKEN) to riscd\'s app token')
  app.run(os.environ.get('HOST', '127.0.0.1'), int(os.environ.get('PORT', '5000')))
