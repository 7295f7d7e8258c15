/** The portal's entry: the widgets on the session cookie (no token), same origin. */
import '@bursar/react/styles.css';
import './portal.css';
import { BursarProvider } from '@bursar/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Portal } from './portal.tsx';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <BursarProvider locale={navigator.language}>
      <Portal />
    </BursarProvider>
  </StrictMode>,
);
