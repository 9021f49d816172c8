import { Component, type ErrorInfo, type ReactNode } from 'react';

/**
 * Keeps one part of the page from blanking all of it: if rendering `children` throws (an event
 * no schema foresaw), this part shows a short notice and a retry button; the rest keeps working.
 */
export class ErrorBoundary extends Component<{ name: string; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.warn(`${this.props.name} failed to render`, error.message, info.componentStack);
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children;
    return (
      <p className="problem" role="alert" data-testid="render-problem">
        The {this.props.name} could not be shown.{' '}
        <button type="button" onClick={() => this.setState({ failed: false })}>
          Try again
        </button>
      </p>
    );
  }
}
