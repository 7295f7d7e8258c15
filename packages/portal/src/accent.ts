/** The text colour that stays readable on the operator's accent colour (WCAG contrast), so branding cannot make buttons illegible. */

const hexPattern = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

function channel(value: number): number {
  const srgb = value / 255;
  return srgb <= 0.03928 ? srgb / 12.92 : ((srgb + 0.055) / 1.055) ** 2.4;
}

function luminance(hex: string): number {
  const digits = hex.length === 4 ? [...hex.slice(1)].map((digit) => digit + digit).join('') : hex.slice(1);
  const [red, green, blue] = [0, 2, 4].map((start) => Number.parseInt(digits.slice(start, start + 2), 16));
  return 0.2126 * channel(red ?? 0) + 0.7152 * channel(green ?? 0) + 0.0722 * channel(blue ?? 0);
}

/** CSS variables for an accent colour: itself and white or near-black text, whichever contrasts more. */
export function accentVariables(accent: string | null): Record<string, string> {
  if (!accent || !hexPattern.test(accent)) return {};
  const light = luminance(accent);
  const onWhite = 1.05 / (light + 0.05);
  const onDark = (light + 0.05) / (luminance('#1b1f24') + 0.05);
  return { '--bursar-accent': accent, '--bursar-accent-text': onWhite >= onDark ? '#ffffff' : '#1b1f24' };
}
