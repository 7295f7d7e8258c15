/** Number and date formatting in the provider's locale; amounts go through formatDecimal, never through a float. */
import { useMemo } from 'react';
import { formatDecimal } from './amounts.ts';
import { useTranslation } from './provider.tsx';

export function useFormatters() {
  const { locale } = useTranslation();
  return useMemo(() => {
    const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
    const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    const integerFormat = new Intl.NumberFormat(locale);
    return {
      amount: (text: string, options?: { signed?: boolean }) => formatDecimal(text, locale, options),
      date: (iso: string) => dateFormat.format(new Date(iso)),
      dateTime: (iso: string) => dateTimeFormat.format(new Date(iso)),
      integer: (value: number) => integerFormat.format(value),
    };
  }, [locale]);
}
