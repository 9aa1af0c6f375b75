import { Link, Outlet, RouterProvider, createBrowserRouter, isRouteErrorResponse, useNavigate, useRouteError } from "react-router";
import { LoginPage } from "./auth/LoginPage";
import { SessionProvider, useSession } from "./auth/session";
import { PipelinesPage } from "./pipelines/PipelinesPage";
import { confirmLeave } from "./ui/leaveGuard";

function Layout() {
  const { state, logout, retry } = useSession();
  const navigate = useNavigate();

  if (state.kind === "loading") return <p className="page-message">Loading…</p>;
  if (state.kind === "unreachable") {
    return (
      <div className="page-message" role="alert">
        <p>{state.message}</p>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </div>
    );
  }
  if (state.kind === "anonymous") return <LoginPage />;

  return (
    <div className="app">
      <header className="app-header">
        <Link to="/" className="brand">
          Pipeline Studio
        </Link>
        <Link to="/catalog" data-testid="nav-catalog">
          Catalog
        </Link>
        <Link to="/admin" data-testid="nav-admin">
          Workspaces
        </Link>
        <span className="spacer" />
        <span className="muted">{state.me.username}</span>
        <button
          type="button"
          data-testid="logout"
          onClick={() => {
            if (!confirmLeave()) return;
            void logout().finally(() => navigate("/"));
          }}
        >
          Log out
        </button>
      </header>
      <Outlet />
      {state.expired && (
        <div className="modal-backdrop">
          <div className="modal" role="dialog" aria-modal="true">
            <p className="modal-body">Your session has ended. Sign in again to continue; your unsaved changes are kept.</p>
            <LoginPage />
          </div>
        </div>
      )}
    </div>
  );
}

function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? error.status === 404
      ? "There is no page at this address."
      : `${error.status} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : "The page could not be shown.";
  return (
    <div className="page-message" role="alert">
      <h1>Something went wrong</h1>
      <p>{message}</p>
      <Link to="/">Back to pipelines</Link>
    </div>
  );
}

function NotFound() {
  return (
    <div className="page-message">
      <p>There is no page at this address.</p>
      <Link to="/">Back to pipelines</Link>
    </div>
  );
}

const router = createBrowserRouter([
  {
    path: "/",
    element: <Layout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <PipelinesPage /> },
      {
        path: "pipelines/:id",
        lazy: async () => ({ Component: (await import("./editor/EditorPage")).EditorPage }),
      },
      {
        path: "pipelines/:id/runs",
        lazy: async () => ({ Component: (await import("./runs/PipelineRunsPage")).PipelineRunsPage }),
      },
      {
        path: "runs/:id",
        lazy: async () => ({ Component: (await import("./runs/RunPage")).RunPage }),
      },
      {
        path: "catalog",
        lazy: async () => ({ Component: (await import("./catalog/CatalogPage")).CatalogPage }),
      },
      {
        path: "catalog/datasets/:id",
        lazy: async () => ({ Component: (await import("./catalog/DatasetPage")).DatasetPage }),
      },
      {
        path: "lineage/datasets/:id",
        lazy: async () => ({ Component: (await import("./lineage/LineagePage")).LineagePage }),
      },
      {
        path: "runs/:id/quality",
        lazy: async () => ({ Component: (await import("./catalog/RunQualityPage")).RunQualityPage }),
      },
      {
        path: "admin",
        lazy: async () => ({ Component: (await import("./admin/AdminHome")).AdminHome }),
      },
      {
        path: "admin/audit",
        lazy: async () => ({ Component: (await import("./admin/InstanceAuditPage")).InstanceAuditPage }),
      },
      {
        path: "admin/workspaces/:id/:tab?",
        lazy: async () => ({ Component: (await import("./admin/WorkspaceAdminPage")).WorkspaceAdminPage }),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
]);

export function App() {
  return (
    <SessionProvider>
      <RouterProvider router={router} />
    </SessionProvider>
  );
}
