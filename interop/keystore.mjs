// Keystore v3 through ethers v6, for differential tests against the Rust `wallet` crate.
//
//   node keystore.mjs decrypt <keystore.json> <password-file>
//       prints {"address": "0x…", "privateKey": "0x…"}
//   node keystore.mjs encrypt <private-key-hex> <password-file> <out.json> [--light]
//       writes the keystore JSON (ethers' `wallet.encrypt`, or scrypt n=1024 with --light)
//       and prints {"address": "0x…"}
//
// Passwords come from files (first line), as the `symbiont` CLI takes them.
import { readFileSync, writeFileSync } from "node:fs";
import { Wallet, encryptKeystoreJson } from "ethers";

function password(file) {
  return readFileSync(file, "utf8").split(/\r?\n/)[0];
}

function usage() {
  console.error("usage: keystore.mjs decrypt <file> <password-file>");
  console.error("       keystore.mjs encrypt <private-key> <password-file> <out> [--light]");
  process.exit(2);
}

const [command, ...args] = process.argv.slice(2);
if (command === "decrypt") {
  if (args.length !== 2) usage();
  const json = readFileSync(args[0], "utf8");
  const wallet = await Wallet.fromEncryptedJson(json, password(args[1]));
  console.log(JSON.stringify({ address: wallet.address, privateKey: wallet.privateKey }));
} else if (command === "encrypt") {
  if (args.length < 3) usage();
  const key = args[0].startsWith("0x") ? args[0] : `0x${args[0]}`;
  const wallet = new Wallet(key);
  const json = args.includes("--light")
    ? await encryptKeystoreJson(wallet, password(args[1]), { scrypt: { N: 1024 } })
    : await wallet.encrypt(password(args[1]));
  writeFileSync(args[2], json);
  console.log(JSON.stringify({ address: wallet.address }));
} else {
  usage();
}
