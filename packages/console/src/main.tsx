/** The console's entry: the query cache, the session, and the routes under /console/. */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { Layout } from './layout.tsx';
import { AuditScreen } from './screens/audit.tsx';
import { CatalogScreen } from './screens/catalog.tsx';
import { CustomerScreen } from './screens/customer.tsx';
import { CustomersScreen } from './screens/customers.tsx';
import { JobsScreen } from './screens/jobs.tsx';
import { KeysScreen } from './screens/keys.tsx';
import { WebhooksScreen } from './screens/webhooks.tsx';
import { SessionProvider } from './session.tsx';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    // A refused read (403, 404, 400) will not succeed by asking again; a lost session is handled once.
    queries: { retry: false, refetchOnWindowFocus: false, staleTime: 5_000 },
  },
});

const router = createBrowserRouter(
  [
    {
      path: '/',
      element: <Layout />,
      children: [
        { index: true, element: <CustomersScreen /> },
        { path: 'customers', element: <CustomersScreen /> },
        { path: 'customers/:customer', element: <CustomerScreen /> },
        { path: 'catalog', element: <CatalogScreen /> },
        { path: 'webhooks', element: <WebhooksScreen /> },
        { path: 'audit', element: <AuditScreen /> },
        { path: 'keys', element: <KeysScreen /> },
        { path: 'jobs', element: <JobsScreen /> },
      ],
    },
  ],
  { basename: '/console' },
);

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <SessionProvider>
        <RouterProvider router={router} />
      </SessionProvider>
    </QueryClientProvider>
  </StrictMode>,
);
