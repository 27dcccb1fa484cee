// One peer process of a measurement: `node bench/peer.js '<spec as JSON>'`, where the spec
// names the driver, the role (bench/lib/roles.js), this side and the trial's parameters.
// Started fresh for each measurement by bench/lib/spawn.js.
'use strict';
const roles = require('./lib/roles');

async function main() {
  const spec = JSON.parse(process.argv[2]);
  const driver = require(`./drivers/${spec.driver}`);
  const ep = await driver.endpoint(spec);
  await roles[spec.role](ep, spec.p);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
