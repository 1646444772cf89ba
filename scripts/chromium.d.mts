// Types of scripts/chromium.mjs, for the TypeScript benches that use it.
import type { Browser } from 'playwright-core';

export const executablePath: string;
export function haveChromium(): boolean;
export function launchChromium(): Promise<Browser>;
export function bundle(entry: string): Promise<string>;
export function servePages(pages: Record<string, string>): Promise<{ origin: string; close(): void }>;
