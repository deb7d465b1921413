// Jest transformer built on esbuild (already needed for Lambda bundling): strips
// TypeScript and turns ESM (our sources and the ESM-only @middy packages) into
// CommonJS. No type-checking here; `npm test` runs tsc separately.
const { createHash } = require('node:crypto');
const { transformSync, version } = require('esbuild');

module.exports = {
  process(sourceText, sourcePath) {
    const { code, map } = transformSync(sourceText, {
      loader: sourcePath.endsWith('.ts') ? 'ts' : 'js',
      format: 'cjs',
      target: 'node20',
      sourcemap: 'external',
      sourcesContent: false,
      sourcefile: sourcePath,
    });
    return { code, map };
  },
  getCacheKey(sourceText, sourcePath) {
    return createHash('sha256')
      .update(version)
      .update('\0')
      .update(sourcePath)
      .update('\0')
      .update(sourceText)
      .digest('hex');
  },
};
