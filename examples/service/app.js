// The application: asks the policy sidecar about eight requests from one caller, then
// sends it a bad one; the first call waits for the sidecar if it is not up yet.
const { Client, RemoteError } = require('podshm');

async function main() {
  const policy = Client.connect('example-policy');
  for (let i = 1; i <= 8; i++) {
    const answer = await policy.call(Buffer.from('alice'), { timeout: 5_000 });
    console.log(`app: request ${i} from alice: ${Buffer.from(answer).toString()}`);
  }
  try {
    await policy.call(Buffer.alloc(0), { timeout: 5_000 });
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    console.log(`app: the policy refused an empty request: ${err.message} (${err.remoteCode})`);
  }
  policy.close();
}

main().catch((err) => {
  console.error(`app: ${err.code}: ${err.message}`);
  process.exit(1);
});
