/** Jobs: each background job of the server's runner, its failures, and the scheduled work coming due. */
import type { Schemas } from '../api.ts';
import { Empty, PageHeading, QueryView, Section, Time, useApi } from '../ui.tsx';

export function JobsScreen() {
  const jobs = useApi<Schemas['Jobs']>('/v1/jobs');
  return (
    <>
      <PageHeading title="Jobs" />
      <QueryView query={jobs} label="jobs">
        {(found) => (
          <>
            <Section title="Background jobs">
              <table data-testid="jobs">
                <caption className="visually-hidden">Background jobs</caption>
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Every</th>
                    <th scope="col">Last run</th>
                    <th scope="col">Next run</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
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
                </tbody>
              </table>
            </Section>
            <Section title="Failing work">
              {found.data.every((job) => job.failures.length === 0) ? (
                <Empty>Nothing is failing.</Empty>
              ) : (
                <table>
                  <caption className="visually-hidden">Failing work</caption>
                  <thead>
                    <tr>
                      <th scope="col">Job</th>
                      <th scope="col">Target</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Error</th>
                      <th scope="col">Retry at</th>
                    </tr>
                  </thead>
                  <tbody>
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
                  </tbody>
                </table>
              )}
            </Section>
            <Section title="Scheduled">
              {found.scheduled.length === 0 ? (
                <Empty>Nothing scheduled.</Empty>
              ) : (
                <table>
                  <caption className="visually-hidden">Scheduled work</caption>
                  <thead>
                    <tr>
                      <th scope="col">Kind</th>
                      <th scope="col">Target</th>
                      <th scope="col">Due</th>
                    </tr>
                  </thead>
                  <tbody>
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
                  </tbody>
                </table>
              )}
            </Section>
          </>
        )}
      </QueryView>
    </>
  );
}
