#!/usr/bin/env bash
# The tour: from an empty server to a registered attendee and a sent email.
#
#   make run                 # in one terminal: serves http://127.0.0.1:8000, prints a key
#   EVENTCRM_KEY=ecrm_… bash docs/tour.sh   # in another (or `make tour`)
#
# Without EVENTCRM_KEY it creates an administrator key with `eventcrm keys create`
# on the database the settings name (the one `make run` serves). BASE_URL points it
# at another server. Every run uses fresh email addresses, so it can run again.
# Needs bash, curl and python3 (to read fields out of the JSON answers).
set -euo pipefail

BASE_URL=${BASE_URL:-http://127.0.0.1:8000}
API=$BASE_URL/api/v1
RUN=${RUN:-$(date +%s)}                   # makes this run's email addresses unique
if [ -z "${EVENTCRM_KEY:-}" ]; then
  EVENTCRM_KEY=$(${EVENTCRM:-.venv/bin/eventcrm} keys create --role admin --name tour | tail -n 1)
fi

# api METHOD PATH [JSON]: one call with the key; prints the answer, stops the tour on an error.
api() {
  curl -sS --fail-with-body -X "$1" "$API$2" -H "Authorization: Bearer $EVENTCRM_KEY" \
    ${3:+-H 'Content-Type: application/json' -d "$3"}
  echo
}
# field NAME: reads one field of the JSON answer on stdin (a.b for nested ones).
field() {
  python3 -c 'import json, sys
value = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    value = value[part]
print(value)' "$1"
}
step() { printf '\n== %s\n' "$*" >&2; }

step "1. contacts: an owner and three attendees"
ADA=$(api POST /users "{\"firstName\": \"Ada\", \"lastName\": \"Lovelace\",
  \"email\": \"ada.$RUN@example.com\", \"company\": \"Acme\", \"city\": \"Austin\"}" | field id)
BOB=$(api POST /users "{\"firstName\": \"Bob\", \"lastName\": \"Byte\", \"email\": \"bob.$RUN@example.com\"}" | field id)
CY=$(api POST /users "{\"firstName\": \"Cy\", \"lastName\": \"Ode\", \"email\": \"cy.$RUN@example.com\"}" | field id)
DI=$(api POST /users "{\"firstName\": \"Di\", \"lastName\": \"Git\", \"email\": \"di.$RUN@example.com\"}" | field id)
api GET "/users/$ADA"

step "2. an event with two seats, owned by Ada"
EVENT=$(api POST /events "{\"title\": \"PyCon Austin $RUN\",
  \"startAt\": \"2027-05-01T09:00:00-05:00\", \"endAt\": \"2027-05-01T18:00:00-05:00\",
  \"timezone\": \"America/Chicago\", \"venue\": \"Convention Center\", \"capacity\": 2,
  \"status\": \"scheduled\", \"ownerId\": \"$ADA\"}" | field id)
api GET "/events/$EVENT"

step "3. registrations: two seats taken, the third person waitlisted"
api POST "/events/$EVENT/registrations" "{\"userId\": \"$BOB\"}"
api POST "/events/$EVENT/registrations" "{\"userId\": \"$CY\"}"
STATUS=$(api POST "/events/$EVENT/registrations" "{\"userId\": \"$DI\"}" | field status)
[ "$STATUS" = waitlisted ] || { echo "expected Di on the waitlist, got $STATUS" >&2; exit 1; }
echo "Di: $STATUS"

step "4. Bob checks in at the door"
api POST "/events/$EVENT/registrations/$BOB/check-in"

step "5. an email template (Jinja2; every campaign email carries an unsubscribe link)"
TEMPLATE=$(api POST /email-templates "{\"name\": \"see-you-$RUN\",
  \"subject\": \"See you at {{ event.title }}, {{ user.firstName }}\",
  \"html\": \"<p>Hi {{ user.firstName }}, see you there!</p><p><a href=\\\"{{ unsubscribeUrl }}\\\">Unsubscribe</a></p>\"}" | field id)

step "6. a segment: everyone with a seat at the event (owner included)"
SEGMENT=$(api POST /segments "{\"name\": \"PyCon seats $RUN\",
  \"filter\": {\"field\": \"registered_for\", \"op\": \"eq\", \"value\": \"$EVENT\"}}" | field id)
api GET "/segments/$SEGMENT/count"

step "7. a campaign to the segment, sent (a send to over 1,000 people needs ?confirm=true)"
CAMPAIGN=$(api POST /campaigns "{\"name\": \"See you at PyCon\", \"templateId\": \"$TEMPLATE\",
  \"eventId\": \"$EVENT\", \"audience\": {\"segmentId\": \"$SEGMENT\"}}" | field id)
api POST "/campaigns/$CAMPAIGN/send"

step "8. the worker inside the server sends it (into ./var/outbox/ by default)"
for _ in $(seq 1 120); do
  STATUS=$(api GET "/campaigns/$CAMPAIGN" | field status)
  [ "$STATUS" = completed ] && break
  sleep 0.5
done
api GET "/campaigns/$CAMPAIGN"
[ "$STATUS" = completed ] || { echo "the campaign is still $STATUS" >&2; exit 1; }

step "9. the delivery ledger: one line per recipient"
SENT=$(api GET "/campaigns/$CAMPAIGN/deliveries?status=sent" | tee /dev/stderr \
  | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))')
[ "$SENT" = 3 ] || { echo "expected 3 sent deliveries, got $SENT" >&2; exit 1; }
echo "tour complete: campaign $CAMPAIGN sent to $SENT people" >&2
