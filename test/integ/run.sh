#!/usr/bin/env bash
# `npm run integ`: deploys the integration stage into the account your AWS credentials name, runs the
# assertions of test/integ/integ.mappa.ts (they fail the deployment if the stack does not work), then
# destroys the stage whatever happened. Needs Docker (the training image) and about 30-60 minutes.
set -uo pipefail
cd "$(dirname "$0")/../.."
app='npx tsx test/integ/integ.mappa.ts'
npx cdk deploy --app "$app" --all --require-approval never --outputs-file cdk.out/integ-outputs.json
status=$?
npx cdk destroy --app "$app" --all --force
exit $status
