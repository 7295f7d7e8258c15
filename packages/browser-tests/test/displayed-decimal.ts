/** Reads a decimal back from what a widget shows in en-US, to compare it with the API's string. */

/** "1,234.5" (shown for "1234.50") and "1234.50" both become "1234.5"; a minus sign becomes "-". */
export function digitsOf(text: string): string {
  const plain = text.replace(/[^0-9.\-−]/g, '').replace('−', '-');
  return plain.includes('.') ? plain.replace(/\.?0+$/, '') : plain;
}
