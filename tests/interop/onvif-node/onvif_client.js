#!/usr/bin/env node
// camsim's ONVIF camera seen by the npm `onvif` package (agsh/onvif), the
// most used Node ONVIF client: over HTTPS, verifying the camera's chain
// against our device-identity CA (rejectUnauthorized stays true; only the
// host name check is off, since an 802.1AR device certificate names the
// device, not a host), with WS-Security digest authentication.
//
//   node onvif_client.js --host H --port P --user U --password-file F --ca PEM...
//
// Prints one JSON document: on success
//   {"ok": true, "onvif_package": "0.8.3", "device_information": {...},
//    "system_date_and_time": "ISO-8601", "network_interfaces": [{"name", "mac"}]}
// and exit 0; on failure {"ok": false, "step", "error", "code"} and exit 1.
'use strict';

const fs = require('fs');
const path = require('path');
const { Cam } = require('onvif');

function parseArgs(argv) {
  const args = { ca: [] };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    i++;
    if (name === '--host') args.host = value;
    else if (name === '--port') args.port = Number(value);
    else if (name === '--user') args.user = value;
    else if (name === '--password-file') args.passwordFile = value;
    else if (name === '--ca') args.ca.push(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (!args.host || !args.port || !args.user || !args.passwordFile || args.ca.length === 0) {
    throw new Error('usage: --host H --port P --user U --password-file F --ca PEM [--ca PEM...]');
  }
  return args;
}

function finish(doc) {
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  process.exit(doc.ok ? 0 : 1);
}

function fail(step, err) {
  finish({ ok: false, step, error: String(err && err.message ? err.message : err),
           code: err && err.code ? err.code : null });
}

// The package's callbacks as promises, naming the step that failed.
function call(cam, method, step) {
  return new Promise((resolve, reject) => {
    cam[method]((err, data) => (err ? reject(Object.assign(err, { step })) : resolve(data)));
  });
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`onvif_client: ${e.message}\n`);
    process.exit(64);
  }
  const password = fs.readFileSync(args.passwordFile, 'utf8').replace(/[\r\n]+$/, '');
  const cam = new Cam({
    hostname: args.host,
    port: args.port,
    username: args.user,
    password,
    useSecure: true,
    secureOpts: {
      ca: args.ca.map((f) => fs.readFileSync(f)),
      rejectUnauthorized: true,
      // The leaf names the device (serialNumber, CN "<model> <serial>"), not
      // a host: skip only the name check; the chain is still verified.
      checkServerIdentity: () => undefined,
      minVersion: 'TLSv1.2',
    },
    timeout: 5000,
    // connect() wants GetServices or GetCapabilities, which camsim does not
    // implement; we call the three operations it does, in connect()'s order.
    autoconnect: false,
  });
  // What GetCapabilities would have told the package: where the device
  // service is (getNetworkInterfaces posts to uri.device), parsed as the
  // package parses an XAddr.
  cam.uri = { device: cam._parseUrl(`https://${args.host}:${args.port}/onvif/device_service`) };

  const result = { ok: true, onvif_package: require('onvif/package.json').version };
  try {
    // Unauthenticated, and sets the package's clock offset for the digest.
    const time = await call(cam, 'getSystemDateAndTime', 'GetSystemDateAndTime');
    result.system_date_and_time = time.toISOString();
    result.device_information = await call(cam, 'getDeviceInformation', 'GetDeviceInformation');
    const interfaces = await call(cam, 'getNetworkInterfaces', 'GetNetworkInterfaces');
    result.network_interfaces = interfaces.map((i) => ({
      name: i.info && i.info.name,
      mac: i.info && i.info.hwAddress,
    }));
  } catch (e) {
    fail(e.step || 'request', e);
  }
  finish(result);
}

main().catch((e) => fail('internal', e));
