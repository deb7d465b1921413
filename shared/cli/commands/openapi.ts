import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { openApiText } from '../../serving/openapi';
import { requireOutputFile, runAction } from '../errors';

interface OpenApiFlags {
  out?: string;
}

export function registerOpenApiCommand(program: Command): void {
  program
    .command('openapi')
    .description(
      "print the HTTP API's OpenAPI 3.1 document, generated from the request and response schemas (docs/openapi.json is its output)",
    )
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(
      runAction(async (flags: OpenApiFlags) => {
        const text = openApiText();
        if (!flags.out) {
          process.stdout.write(text);
          return;
        }
        requireOutputFile(flags.out, '--out');
        const path = resolve(flags.out);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, text);
        process.stdout.write(`OpenAPI document written to ${path}\n`);
      }),
    );
}
