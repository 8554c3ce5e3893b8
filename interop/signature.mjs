// secp256k1 signatures over 32-byte hashes through viem, for differential tests.
//
//   node signature.mjs sign <private-key-hex> <hash-hex>   prints the 65-byte r‖s‖v hex
//   node signature.mjs recover <hash-hex> <signature-hex>  prints the checksummed address
//   node signature.mjs address <private-key-hex>           prints the checksummed address
import { recoverAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const hex = (s) => (s.startsWith("0x") ? s : `0x${s}`);

function usage() {
  console.error("usage: signature.mjs sign <key> <hash> | recover <hash> <sig> | address <key>");
  process.exit(2);
}

const [command, ...args] = process.argv.slice(2);
if (command === "sign" && args.length === 2) {
  console.log(await privateKeyToAccount(hex(args[0])).sign({ hash: hex(args[1]) }));
} else if (command === "recover" && args.length === 2) {
  console.log(await recoverAddress({ hash: hex(args[0]), signature: hex(args[1]) }));
} else if (command === "address" && args.length === 1) {
  console.log(privateKeyToAccount(hex(args[0])).address);
} else {
  usage();
}
