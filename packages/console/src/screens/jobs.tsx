/** Jobs: each background job of the server's runner, its failures, and the scheduled work coming due. */
import type { Schemas } from '../api.ts';
import { DataTable, Empty, PageHeading, QueryView, Section, Time, useApi } from '../ui.tsx';

export function JobsScreen() {
  const jobs = useApi<Schemas['Jobs']>('/v1/jobs');
  return (
    <>
      <PageHeading title="Jobs" />
      <QueryView query={jobs} label="jobs">
        {(found) => (
          <>
            <Section title="Background jobs">
              <DataTable
                testId="jobs"
                caption="Background jobs"
                columns={['Job', 'Every', 'Last run', 'Next run', 'Last error']}
              >
                {found.data.map((job) => (
                  <tr key={job.name} className={job.last_error === null ? '' : 'row-error'}>
                    <th scope="row">{job.name}</th>
                    <td>{job.interval_ms / 1000} s</td>
                    <td>
                      <Time at={job.last_finished_at ?? job.last_started_at} />
                    </td>
                    <td>
                      <Time at={job.next_run_at} />
                    </td>
                    <td>{job.last_error ?? <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </DataTable>
            </Section>
            <Section title="Failing work">
              {found.data.every((job) => job.failures.length === 0) ? (
                <Empty>Nothing is failing.</Empty>
              ) : (
                <DataTable caption="Failing work" columns={['Job', 'Target', 'Attempts', 'Error', 'Retry at']}>
                  {found.data.flatMap((job) =>
                    job.failures.map((failure) => (
                      <tr key={`${job.name}|${failure.target}`}>
                        <th scope="row">{job.name}</th>
                        <td>
                          <code>{failure.target}</code>
                        </td>
                        <td>{failure.attempts}</td>
                        <td>{failure.error}</td>
                        <td>
                          <Time at={failure.retry_at} />
                        </td>
                      </tr>
                    )),
                  )}
                </DataTable>
              )}
            </Section>
            <Section title="Scheduled">
              {found.scheduled.length === 0 ? (
                <Empty>Nothing scheduled.</Empty>
              ) : (
                <DataTable caption="Scheduled work" columns={['Kind', 'Target', 'Due']}>
                  {found.scheduled.map((item) => (
                    <tr key={`${item.kind}|${item.target}`}>
                      <th scope="row">{item.kind}</th>
                      <td>
                        <code>{item.target}</code>
                      </td>
                      <td>
                        <Time at={item.due_at} />
                      </td>
                    </tr>
                  ))}
                </DataTable>
              )}
            </Section>
          </>
        )}
      </QueryView>
    </>
  );
}
