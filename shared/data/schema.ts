import { config } from 'zod/mini';
import { en } from 'zod/locales';

/**
 * Zod Mini, the tree-shakable build of zod's API, for every schema the
 * deployed code validates with: a Lambda bundle carries only the checks it
 * uses (the classic build put ~440 KB of zod into each function). Import it as
 * a namespace (`import * as z from '…/data/schema'`) so the bundler keeps only
 * what is used. Mini has no locale of its own; English messages load here.
 */
config(en());

export * from 'zod/mini';
