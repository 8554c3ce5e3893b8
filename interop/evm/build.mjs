// Compiles Eip3009Token.sol with the pinned solcjs (npm `solc`, offline) and writes
// Eip3009Token.json = { contractName, abi, bytecode, solcVersion, evmVersion, optimizer }.
// The artifact is committed; the Rust tests deploy it on anvil (crates/x402/evm/tests).
//
//   node evm/build.mjs          (or: npm run build:evm)
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const here = dirname(fileURLToPath(import.meta.url));
const source = "Eip3009Token.sol";
const contractName = "Eip3009Token";
// anvil 1.7 supports later forks; cancun keeps the bytecode usable on older dev nodes too.
const evmVersion = "cancun";
const optimizer = { enabled: true, runs: 200 };

const input = {
  language: "Solidity",
  sources: { [source]: { content: readFileSync(join(here, source), "utf8") } },
  settings: {
    evmVersion,
    optimizer,
    outputSelection: { [source]: { [contractName]: ["abi", "evm.bytecode.object"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const problems = output.errors ?? [];
for (const p of problems) console.error(p.formattedMessage ?? p.message);
if (problems.some((p) => p.severity === "error")) process.exit(1);

const contract = output.contracts[source][contractName];
const artifact = {
  contractName,
  abi: contract.abi,
  bytecode: `0x${contract.evm.bytecode.object}`,
  solcVersion: solc.version(),
  evmVersion,
  optimizer,
};
const out = join(here, `${contractName}.json`);
writeFileSync(out, `${JSON.stringify(artifact, null, 2)}\n`);
console.log(`wrote ${out} (${(contract.evm.bytecode.object.length / 2) | 0} bytes of init code)`);
