import type { ComponentChildren } from "preact";

/** The dashboard's sections; `item` names what a page below one shows (a user, under Users). */
export const NAV: { href: string; label: string; item?: string }[] = [
  { href: "/admin", label: "Overview" },
  { href: "/admin/users", label: "Users", item: "user" },
  { href: "/admin/events", label: "Events" },
  { href: "/admin/audit", label: "Audit" },
  { href: "/admin/deliveries", label: "Deliveries" },
  { href: "/admin/fraud", label: "Fraud" },
  { href: "/admin/settings", label: "Settings" },
  { href: "/admin/api-keys", label: "API keys" },
  { href: "/docs", label: "API" },
];

/**
 * The dashboard frame: brand, navigation, who is signed in, sign-out. A page under another
 * (`back`: a user under Users) shows the way back as a breadcrumb above its title.
 */
export function Layout(
  { path, admin, title, back, children }: {
    path: string;
    admin: string;
    title: string;
    back?: { href: string; label: string };
    children: ComponentChildren;
  },
) {
  return (
    <div class="app">
      <header class="topbar">
        <a class="brand" href="/admin">
          <img src="/static/favicon.svg" alt="" width={22} height={22} />
          Doorman
        </a>
        <nav aria-label="Dashboard">
          {NAV.map((item) => (
            <a href={item.href} aria-current={item.href === path ? "page" : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <form method="post" action="/admin/logout" class="signout">
          <span class="muted" title="Signed in as">{admin}</span>
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main>
        {back && (
          <nav aria-label="Breadcrumb">
            <ol class="crumbs">
              <li>
                <a href={back.href}>{back.label}</a>
              </li>
              <li aria-current="page">{title}</li>
            </ol>
          </nav>
        )}
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}

/** A page for people who are not signed in (login, errors). */
export function Plain({ children }: { children: ComponentChildren }) {
  return (
    <main class="plain">
      <div class="card">
        <div class="brand brand-large">
          <img src="/static/favicon.svg" alt="" width={28} height={28} />
          Doorman
        </div>
        {children}
      </div>
    </main>
  );
}
