/** The frame every widget draws in, and its loading, empty and error states. */
import type { ReactNode } from 'react';
import { useId } from 'react';
import type { PortalRequestError } from './client.ts';
import type { LoadState } from './portal-store.ts';
import { useTranslation } from './provider.tsx';

export function WidgetCard(props: {
  readonly name: string;
  readonly title: string;
  readonly actions?: ReactNode;
  readonly children: ReactNode;
}) {
  const headingId = useId();
  return (
    <section className={`bursar-widget bursar-${props.name}`} aria-labelledby={headingId}>
      <header className="bursar-widget-header">
        <h2 id={headingId} className="bursar-widget-title">
          {props.title}
        </h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

const sessionEndedCodes = new Set(['session_expired', 'unauthenticated', 'portal_session_required']);

export function ErrorState({ error, onRetry }: { readonly error: PortalRequestError; readonly onRetry?: () => void }) {
  const { t } = useTranslation();
  const ended = error.status === 401 || (error.code !== null && sessionEndedCodes.has(error.code));
  return (
    <div className="bursar-state bursar-state-error" role="alert" data-state="error">
      <p>{ended ? t('errorSessionEnded') : t('error', { detail: error.message })}</p>
      {!ended && onRetry ? (
        <button type="button" className="bursar-button bursar-button-secondary" onClick={onRetry}>
          {t('retry')}
        </button>
      ) : null}
    </div>
  );
}

/** Draws `state`: a loading line, the error, the empty text when `isEmpty(data)`, or `children(data)`. */
export function StateView<T>(props: {
  readonly state: LoadState<T>;
  readonly isEmpty?: (data: T) => boolean;
  readonly emptyText: string;
  readonly onRetry?: () => void;
  readonly children: (data: T) => ReactNode;
}) {
  const { t } = useTranslation();
  const { state } = props;
  if (state.status === 'loading') {
    return (
      <p className="bursar-state bursar-state-loading" aria-busy="true" data-state="loading">
        {t('loading')}
      </p>
    );
  }
  if (state.status === 'error') {
    return <ErrorState error={state.error} {...(props.onRetry ? { onRetry: props.onRetry } : {})} />;
  }
  if (props.isEmpty?.(state.data)) {
    return (
      <p className="bursar-state bursar-state-empty" data-state="empty">
        {props.emptyText}
      </p>
    );
  }
  return <div data-state="ready">{props.children(state.data)}</div>;
}
